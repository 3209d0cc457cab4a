import { useState } from 'react';
import { Alert, Form, Input, Modal, Typography, type FormInstance } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, errorMessage, type ChangePasswordRequest } from '../api';
import { useToast } from '../components/Toast';
import { FormModal } from '../components/FormModal';
import { PasswordItem } from '../components/PasswordItem';

const FIELDS = ['current_password', 'new_password'] as const;

/** Changes the signed-in user's password; the server ends their other sessions. */
export function ChangePasswordModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();

  async function submit(values: ChangePasswordRequest, form: FormInstance<ChangePasswordRequest>) {
    await api.changePassword(values);
    message.success(t('account.passwordChanged'));
    form.resetFields();
    onClose();
  }

  return (
    <FormModal<ChangePasswordRequest, (typeof FIELDS)[number]>
      open={open}
      title={t('account.changePassword')}
      okText={t('account.changePassword')}
      okTestId="change-password-submit"
      onClose={onClose}
      onSubmit={submit}
      fields={FIELDS}
      intro={<Typography.Paragraph type="secondary">{t('account.changePasswordHint')}</Typography.Paragraph>}
      formProps={{ 'data-testid': 'change-password-form' }}
    >
      <Form.Item name="current_password" label={t('account.currentPassword')} rules={[{ required: true, message: t('auth.required') }]}>
        <Input.Password autoComplete="current-password" data-testid="current-password" />
      </Form.Item>
      <PasswordItem name="new_password" label={t('account.newPassword')} testId="new-password" />
    </FormModal>
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
