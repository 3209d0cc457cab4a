import { useState } from 'react';
import { Alert, Button, Form, Input } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, ApiError } from '../api';
import { applyFormError } from '../lib/forms';
import { PasswordItem } from '../components/PasswordItem';
import { AuthFrame } from './AuthFrame';

interface ResetForm {
  password: string;
  confirm: string;
}

/** /reset#kfr_…: the mailed link; a new password, then the sign-in page. */
export default function ResetPassword() {
  const { t } = useTranslation();
  const token = typeof window !== 'undefined' ? window.location.hash.replace(/^#/, '') : '';
  const [form] = Form.useForm<ResetForm>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [invalid, setInvalid] = useState(token === '');
  const navigate = useNavigate();

  async function submit(v: ResetForm) {
    setBusy(true);
    setError(null);
    try {
      const res = await api.resetPassword({ token, password: v.password });
      const q = new URLSearchParams({ reset: '1', email: res.email });
      navigate(`/login?${q.toString()}`, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') setInvalid(true);
      else setError(applyFormError(form, err, ['password'] as const, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthFrame
      title={t('auth.resetTitle')}
      footer={
        <Link to="/login" data-testid="reset-back">
          {t('auth.backToLogin')}
        </Link>
      }
    >
      {invalid ? (
        <>
          <Alert type="error" showIcon title={t('auth.resetInvalid')} style={{ marginBottom: 16 }} data-testid="reset-invalid" />
          <Link to="/forgot">{t('auth.resetAgain')}</Link>
        </>
      ) : (
        <>
          {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="form-error" /> : null}
          <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} disabled={busy} data-testid="reset-form">
            <PasswordItem name="password" label={t('account.newPassword')} testId="reset-password" extra={t('auth.resetHint')} />
            <Form.Item
              name="confirm"
              label={t('auth.confirmPassword')}
              dependencies={['password']}
              rules={[
                { required: true, message: t('auth.required') },
                ({ getFieldValue }) => ({
                  validator: (_, value) => (!value || getFieldValue('password') === value ? Promise.resolve() : Promise.reject(new Error(t('auth.passwordsDiffer')))),
                }),
              ]}
            >
              <Input.Password autoComplete="new-password" data-testid="reset-confirm" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="reset-submit">
              {t('auth.resetSubmit')}
            </Button>
          </Form>
        </>
      )}
    </AuthFrame>
  );
}
