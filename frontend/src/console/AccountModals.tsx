import { useState } from 'react';
import { Alert, Form, Input, Modal, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, errorMessage, type ChangePasswordRequest } from '../api';
import { useToast } from '../components/Toast';
import { applyFormError } from '../lib/forms';

const FIELDS = ['current_password', 'new_password'] as const;

/** Changes the signed-in user's password; the server ends their other sessions. */
export function ChangePasswordModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();
  const [form] = Form.useForm<ChangePasswordRequest>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: ChangePasswordRequest) {
    setBusy(true);
    setError(null);
    try {
      await api.changePassword(values);
      message.success(t('account.passwordChanged'));
      form.resetFields();
      onClose();
    } catch (err) {
      setError(applyFormError(form, err, FIELDS, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('account.changePassword')}
      onCancel={onClose}
      okText={t('account.changePassword')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'change-password-submit' } as Record<string, string>}
    >
      <Typography.Paragraph type="secondary">{t('account.changePasswordHint')}</Typography.Paragraph>
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} data-testid="change-password-form">
        <Form.Item name="current_password" label={t('account.currentPassword')} rules={[{ required: true, message: t('auth.required') }]}>
          <Input.Password autoComplete="current-password" data-testid="current-password" />
        </Form.Item>
        <Form.Item
          name="new_password"
          label={t('account.newPassword')}
          extra={t('auth.passwordHint')}
          rules={[
            { required: true, message: t('auth.required') },
            { min: 8, message: t('auth.passwordTooShort') },
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="new-password" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** Asks before ending every session of the user, this one included. */
export function LogoutAllModal({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      await api.logoutAll();
      onDone();
    } catch (err) {
      setError(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('account.logoutAll')}
      onCancel={onClose}
      okText={t('account.logoutAll')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      onOk={() => void confirm()}
      okButtonProps={{ danger: true, 'data-testid': 'logout-all-confirm' } as { danger: boolean }}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Typography.Paragraph>{t('account.logoutAllConfirm')}</Typography.Paragraph>
    </Modal>
  );
}
