import { useState } from 'react';
import { Alert, Button, Form, Input } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import { applyFormError } from '../lib/forms';
import { AuthFrame } from './AuthFrame';
import { usePublicConfig } from './Login';

/**
 * /forgot: asks for a reset link by e-mail. The answer is the same whether
 * the address has an account or not, and so is what the page says.
 */
export default function ForgotPassword() {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ email: string }>();
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const config = usePublicConfig();

  async function submit(v: { email: string }) {
    setBusy(true);
    setError(null);
    try {
      await api.forgotPassword({ email: v.email.trim() });
      setSent(true);
    } catch (err) {
      setError(applyFormError(form, err, ['email'] as const, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame
      title={t('auth.forgotTitle')}
      subtitle={t('auth.forgotIntro')}
      footer={
        <Link to="/login" data-testid="forgot-back">
          {t('auth.backToLogin')}
        </Link>
      }
    >
      {config.data && !config.data.email_enabled ? (
        <Alert type="info" showIcon title={t('auth.forgotNoEmail')} data-testid="forgot-no-email" />
      ) : sent ? (
        <Alert type="success" showIcon title={t('auth.forgotSent')} data-testid="forgot-sent" />
      ) : (
        <>
          {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="form-error" /> : null}
          <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} disabled={busy} data-testid="forgot-form">
            <Form.Item
              name="email"
              label={t('auth.email')}
              rules={[
                { required: true, message: t('auth.required') },
                { type: 'email', message: t('auth.invalidEmail') },
              ]}
            >
              <Input placeholder={t('auth.emailPlaceholder')} autoComplete="email" inputMode="email" data-testid="forgot-email" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="forgot-submit">
              {t('auth.forgotSubmit')}
            </Button>
          </Form>
        </>
      )}
    </AuthFrame>
  );
}
