import { useState } from 'react';
import { Alert, Button, Form, Input, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import { useAuth } from '../stores/auth';
import { writeStorage } from '../stores/storage';
import { applyFormError } from '../lib/forms';
import { PasswordItem } from '../components/PasswordItem';
import { AuthFrame } from './AuthFrame';
import { LAST_WORKSPACE_KEY } from './Signup';
import { roleLabel } from '../admin/rules';

/** /invite#kfi_…: the invited person picks a name and password and is signed in. */
export default function AcceptInvite() {
  const { t } = useTranslation();
  const token = typeof window !== 'undefined' ? window.location.hash.replace(/^#/, '') : '';
  const details = useQuery({
    queryKey: ['invite', token],
    queryFn: () => api.invites.lookup(token),
    enabled: token !== '',
    retry: false,
  });
  const [form] = Form.useForm<{ name: string; password: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const signIn = useAuth((s) => s.signIn);
  const navigate = useNavigate();
  const qc = useQueryClient();

  async function submit(v: { name: string; password: string }) {
    setBusy(true);
    setError(null);
    try {
      const res = await api.invites.accept({
        token,
        name: v.name.trim(),
        password: v.password,
      });
      writeStorage(LAST_WORKSPACE_KEY, res.tenant.slug);
      qc.clear();
      signIn(res.token);
      navigate('/app', { replace: true });
    } catch (err) {
      setError(applyFormError(form, err, ['name', 'password'] as const, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  const invalid = token === '' || details.isError;
  return (
    <AuthFrame
      title={t('invites.acceptTitle')}
      subtitle={
        details.data
          ? t('invites.acceptIntro', {
              workspace: details.data.workspace,
              role: roleLabel(t, details.data.role),
            })
          : undefined
      }
      footer={
        <>
          {t('auth.haveAccount')} <Link to="/login">{t('auth.toLogin')}</Link>
        </>
      }
    >
      {invalid ? (
        <Alert type="error" showIcon title={details.isError ? errorMessage(details.error, t('invites.invalid')) : t('invites.invalid')} data-testid="invite-invalid" />
      ) : details.isPending ? (
        <Spin />
      ) : (
        <>
          {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} /> : null}
          <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} disabled={busy} data-testid="accept-form">
            <Form.Item label={t('auth.email')}>
              <Input value={details.data?.email} disabled />
            </Form.Item>
            <Form.Item
              name="name"
              label={t('auth.name')}
              rules={[
                {
                  required: true,
                  whitespace: true,
                  message: t('auth.required'),
                },
              ]}
            >
              <Input autoComplete="name" data-testid="accept-name" />
            </Form.Item>
            <PasswordItem name="password" label={t('auth.password')} testId="accept-password" />
            <Button type="primary" htmlType="submit" block size="large" loading={busy} data-testid="accept-submit">
              {t('invites.accept')}
            </Button>
          </Form>
        </>
      )}
    </AuthFrame>
  );
}
