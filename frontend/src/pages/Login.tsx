import { useState } from 'react';
import { Alert, Button, Form, Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type LoginResponse, type WorkspaceRef } from '../api';
import { useAuth } from '../stores/auth';
import { writeStorage } from '../stores/storage';
import { applyFormError } from '../lib/forms';
import { AuthFrame } from './AuthFrame';
import { LAST_WORKSPACE_KEY } from './Signup';

const FIELDS = ['tenant', 'email', 'password'] as const;

interface LoginForm {
  tenant?: string;
  email: string;
  password: string;
}

/** Only same-site paths under /app are followed after login. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/app') && !next.startsWith('//') ? next : '/app';
}

/** The server's public settings (whether it sends e-mail), shared by the sign-in pages. */
export function usePublicConfig() {
  return useQuery({ queryKey: ['public-config'], queryFn: api.config, staleTime: 5 * 60_000, retry: false });
}

/**
 * /login: e-mail and password. The server finds the workspace; when the
 * password matched in several, it lists them (and only them) to choose
 * from. A workspace name (?workspace=, or "sign in to a specific
 * workspace") is still accepted, for old links.
 */
export default function Login() {
  const { t } = useTranslation();
  const [form] = Form.useForm<LoginForm>();
  const [params] = useSearchParams();
  const expired = useAuth((s) => s.expired);
  const reason = useAuth((s) => s.reason);
  const signIn = useAuth((s) => s.signIn);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [withWorkspace, setWithWorkspace] = useState(() => !!params.get('workspace'));
  const [choices, setChoices] = useState<{ workspaces: WorkspaceRef[]; email: string; password: string } | null>(null);
  const config = usePublicConfig();
  const navigate = useNavigate();
  const qc = useQueryClient();

  function done(res: LoginResponse & { token: string }, slug: string | undefined) {
    if (slug) writeStorage(LAST_WORKSPACE_KEY, slug);
    qc.clear();
    signIn(res.token);
    navigate(safeNext(params.get('next')), { replace: true });
  }

  async function submit(values: LoginForm) {
    setBusy(true);
    setError(null);
    try {
      const tenant = withWorkspace ? values.tenant?.trim().toLowerCase() || undefined : undefined;
      const email = values.email.trim();
      const res = await api.login({ ...(tenant ? { tenant } : {}), email, password: values.password });
      if (res.token !== undefined) done(res, tenant);
      else setChoices({ workspaces: res.workspaces, email, password: values.password });
    } catch (err) {
      setError(applyFormError(form, err, FIELDS, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  async function choose(ws: WorkspaceRef) {
    if (!choices) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.login({ tenant: ws.slug, email: choices.email, password: choices.password });
      if (res.token !== undefined) done(res, ws.slug);
    } catch (err) {
      setError(applyFormError(form, err, FIELDS, t('app.error')));
      setChoices(null);
    } finally {
      setBusy(false);
    }
  }

  const footer = (
    <>
      {t('auth.noAccount')} <Link to="/signup">{t('auth.toSignup')}</Link>
    </>
  );

  if (choices) {
    return (
      <AuthFrame title={t('auth.chooseWorkspace')} subtitle={t('auth.chooseWorkspaceHint', { email: choices.email })} footer={footer}>
        {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="form-error" /> : null}
        <ul className="workspace-choices" data-testid="workspace-choices">
          {choices.workspaces.map((ws) => (
            <li key={ws.id}>
              <div className="workspace-choice-name">
                <Typography.Text strong>{ws.name}</Typography.Text>
                <Typography.Text type="secondary">{ws.slug}</Typography.Text>
              </div>
              <Button type="primary" loading={busy} onClick={() => void choose(ws)} data-testid="workspace-choice" aria-label={`${t('auth.enterWorkspace')} ${ws.name}`}>
                {t('auth.enterWorkspace')}
              </Button>
            </li>
          ))}
        </ul>
        <Button type="link" onClick={() => setChoices(null)} style={{ paddingLeft: 0, marginTop: 8 }}>
          {t('app.back')}
        </Button>
      </AuthFrame>
    );
  }

  return (
    <AuthFrame title={t('auth.loginTitle')} footer={footer}>
      {params.get('reset') ? <Alert type="success" showIcon title={t('auth.resetDone')} style={{ marginBottom: 16 }} data-testid="reset-done" /> : null}
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
        initialValues={{ tenant: params.get('workspace') ?? '', email: params.get('email') ?? '' }}
        data-testid="login-form"
      >
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
        {withWorkspace ? (
          <Form.Item name="tenant" label={t('auth.workspace')} extra={t('auth.workspaceHint')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input placeholder={t('auth.workspacePlaceholder')} autoComplete="organization" autoCapitalize="none" data-testid="login-tenant" />
          </Form.Item>
        ) : null}
        <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="login-submit">
          {t('auth.loginSubmit')}
        </Button>
      </Form>
      <div className="auth-links">
        {withWorkspace ? null : (
          <Button type="link" size="small" onClick={() => setWithWorkspace(true)} data-testid="login-use-workspace">
            {t('auth.useWorkspace')}
          </Button>
        )}
        {config.data?.email_enabled ? (
          <Link to="/forgot" data-testid="login-forgot">
            {t('auth.forgot')}
          </Link>
        ) : null}
      </div>
    </AuthFrame>
  );
}
