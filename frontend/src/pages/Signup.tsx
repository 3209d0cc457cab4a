import { useState } from 'react';
import { Alert, Button, Form, Input } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { api, type SignupRequest } from '../api';
import { useAuth } from '../stores/auth';
import { writeStorage } from '../stores/storage';
import { applyFormError } from '../lib/forms';
import { keys } from '../realtime/keys';
import { PasswordItem } from '../components/PasswordItem';
import { AuthFrame } from './AuthFrame';

export const LAST_WORKSPACE_KEY = 'kefu:workspace';
const FIELDS = ['company', 'name', 'email', 'password'] as const;

export default function Signup() {
  const { t } = useTranslation();
  const [form] = Form.useForm<SignupRequest>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const signIn = useAuth((s) => s.signIn);

  async function submit(values: SignupRequest) {
    setBusy(true);
    setError(null);
    try {
      const res = await api.signup({ ...values, company: values.company.trim(), name: values.name.trim(), email: values.email.trim() });
      writeStorage(LAST_WORKSPACE_KEY, res.tenant.slug);
      qc.clear();
      qc.setQueryData(keys.tenant, res.tenant);
      signIn(res.token);
      navigate('/app/admin/widget?welcome=1', { replace: true });
    } catch (err) {
      setError(applyFormError(form, err, FIELDS, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame
      title={t('auth.signupTitle')}
      subtitle={t('auth.signupSubtitle')}
      footer={
        <>
          {t('auth.haveAccount')} <Link to="/login">{t('auth.toLogin')}</Link>
        </>
      }
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="form-error" /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} disabled={busy} data-testid="signup-form">
        <Form.Item name="company" label={t('auth.company')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input placeholder={t('auth.companyPlaceholder')} autoComplete="organization" data-testid="signup-company" />
        </Form.Item>
        <Form.Item name="name" label={t('auth.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input placeholder={t('auth.namePlaceholder')} autoComplete="name" data-testid="signup-name" />
        </Form.Item>
        <Form.Item
          name="email"
          label={t('auth.email')}
          rules={[
            { required: true, message: t('auth.required') },
            { type: 'email', message: t('auth.invalidEmail') },
          ]}
        >
          <Input placeholder={t('auth.emailPlaceholder')} autoComplete="email" inputMode="email" data-testid="signup-email" />
        </Form.Item>
        <PasswordItem name="password" label={t('auth.password')} testId="signup-password" />
        <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="signup-submit">
          {t('auth.signupSubmit')}
        </Button>
      </Form>
    </AuthFrame>
  );
}
