import { useState } from 'react';
import { Alert, Button, Form, Input } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { api, type LoginRequest } from '../api';
import { useAuth } from '../stores/auth';
import { readStorage, writeStorage } from '../stores/storage';
import { applyFormError } from '../lib/forms';
import { AuthFrame } from './AuthFrame';
import { LAST_WORKSPACE_KEY } from './Signup';

const FIELDS = ['tenant', 'email', 'password'] as const;

/** Only same-site paths under /app are followed after login. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/app') && !next.startsWith('//') ? next : '/app';
}

export default function Login() {
  const { t } = useTranslation();
  const [form] = Form.useForm<LoginRequest>();
  const [params] = useSearchParams();
  const expired = useAuth((s) => s.expired);
  const reason = useAuth((s) => s.reason);
  const signIn = useAuth((s) => s.signIn);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const qc = useQueryClient();

  async function submit(values: LoginRequest) {
    setBusy(true);
    setError(null);
    try {
      const tenant = values.tenant.trim().toLowerCase();
      const res = await api.login({ tenant, email: values.email.trim(), password: values.password });
      writeStorage(LAST_WORKSPACE_KEY, tenant);
      qc.clear();
      signIn(res.token);
      navigate(safeNext(params.get('next')), { replace: true });
    } catch (err) {
      setError(applyFormError(form, err, FIELDS, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame
      title={t('auth.loginTitle')}
      footer={
        <>
          {t('auth.noAccount')} <Link to="/signup">{t('auth.toSignup')}</Link>
        </>
      }
    >
      {expired && !error ? (
        <Alert
          type="warning"
          showIcon
          title={t(reason === 'deactivated' ? 'auth.deactivated' : reason === 'signed_out' ? 'auth.signedOut' : 'auth.expired')}
          style={{ marginBottom: 16 }}
          data-testid="session-ended"
        />
      ) : null}
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="form-error" /> : null}
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        onFinish={submit}
        disabled={busy}
        initialValues={{ tenant: params.get('workspace') ?? readStorage(LAST_WORKSPACE_KEY) ?? '' }}
        data-testid="login-form"
      >
        <Form.Item
          name="tenant"
          label={t('auth.workspace')}
          extra={t('auth.workspaceHint')}
          rules={[{ required: true, whitespace: true, message: t('auth.required') }]}
        >
          <Input placeholder={t('auth.workspacePlaceholder')} autoComplete="organization" autoCapitalize="none" data-testid="login-tenant" />
        </Form.Item>
        <Form.Item
          name="email"
          label={t('auth.email')}
          rules={[
            { required: true, message: t('auth.required') },
            { type: 'email', message: t('auth.invalidEmail') },
          ]}
        >
          <Input placeholder={t('auth.emailPlaceholder')} autoComplete="email" inputMode="email" data-testid="login-email" />
        </Form.Item>
        <Form.Item name="password" label={t('auth.password')} rules={[{ required: true, message: t('auth.required') }]}>
          <Input.Password autoComplete="current-password" data-testid="login-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="login-submit">
          {t('auth.loginSubmit')}
        </Button>
      </Form>
    </AuthFrame>
  );
}
