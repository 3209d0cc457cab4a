import { useState } from 'react';
import { Alert, Button, Form, Input, Modal, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type CreatedInvite, type Invite, type InviteRequest, type Role } from '../api';
import { EmailItem } from '../components/EmailItem';
import { applyFormError } from '../lib/forms';
import { dateTime } from '../lib/format';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';
import { ConfirmButton } from '../components/ConfirmButton';
import { CopyButton } from './CopyButton';
import { PersonFields } from './PersonFields';
import { roleLabel, rolesGrantable, useRoleNames } from './rules';

const FIELDS = ['email', 'role', 'skills', 'max_concurrent'] as const;

/** Pending invitations, with revoke; shown to those who may invite. */
export function PendingInvites() {
  const { t, i18n } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const invites = useQuery({
    queryKey: keys.invites,
    queryFn: api.invites.list,
  });
  if (!invites.data?.length) return null;
  async function revoke(inv: Invite) {
    try {
      await api.invites.revoke(inv.id);
      void qc.invalidateQueries({ queryKey: keys.invites });
      message.success(t('invites.revoked'));
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    }
  }
  return (
    <div style={{ marginTop: 24 }} data-testid="pending-invites">
      <Typography.Title level={5}>{t('invites.pending')}</Typography.Title>
      <Table<Invite>
        rowKey="id"
        size="small"
        pagination={false}
        dataSource={invites.data}
        scroll={{ x: 560 }}
        columns={[
          { title: t('agents.email'), dataIndex: 'email' },
          {
            title: t('agents.role'),
            dataIndex: 'role',
            render: (r: string) => roleLabel(t, r),
          },
          {
            title: t('invites.expires'),
            dataIndex: 'expires_at',
            render: (d: string) => dateTime(d, i18n.language),
          },
          {
            title: t('agents.actions'),
            key: 'a',
            align: 'right' as const,
            render: (_: unknown, inv: Invite) => (
              <ConfirmButton question={t('invites.revokeConfirm')} onConfirm={() => revoke(inv)} danger okDanger={false} testId="invite-revoke">
                {t('invites.revoke')}
              </ConfirmButton>
            ),
          },
        ]}
      />
    </div>
  );
}

/** Invites by email: the server mails the link when it can; the admin copies it either way. */
export function InviteModal({ open, onClose, myRole }: { open: boolean; onClose: () => void; myRole: Role | undefined }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [form] = Form.useForm<InviteRequest>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<CreatedInvite | null>(null);
  const roleNames = useRoleNames();

  async function submit(values: InviteRequest) {
    setBusy(true);
    setError(null);
    try {
      const inv = await api.invites.create({
        ...values,
        email: values.email.trim(),
        skills: values.skills ?? [],
      });
      setMade(inv);
      void qc.invalidateQueries({ queryKey: keys.invites });
    } catch (err) {
      setError(applyFormError(form, err, FIELDS, t('app.error')));
    } finally {
      setBusy(false);
    }
  }
  function close() {
    setMade(null);
    setError(null);
    form.resetFields();
    onClose();
  }

  return (
    <Modal
      open={open}
      title={t('invites.title')}
      onCancel={close}
      destroyOnHidden
      footer={
        made ? (
          <Button type="primary" onClick={close} data-testid="invite-done">
            {t('app.close')}
          </Button>
        ) : (
          <Space>
            <Button onClick={close}>{t('app.cancel')}</Button>
            <Button type="primary" loading={busy} onClick={() => form.submit()} data-testid="invite-submit">
              {t('invites.send')}
            </Button>
          </Space>
        )
      }
    >
      {made ? (
        <div data-testid="invite-made">
          <Alert
            type="success"
            showIcon
            title={t(made.emailed ? 'invites.emailed' : 'invites.copyHint', {
              email: made.email,
            })}
            style={{ marginBottom: 12 }}
          />
          <Space.Compact block>
            <Input readOnly value={made.url} data-testid="invite-url" />
            <CopyButton text={made.url} />
          </Space.Compact>
        </div>
      ) : (
        <>
          {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
          <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} initialValues={{ role: 'agent', max_concurrent: 5, skills: [] }}>
            <EmailItem name="email" label={t('agents.email')} testId="invite-email" />
            <PersonFields roles={rolesGrantable(myRole, roleNames)} roleTestId="invite-role" />
          </Form>
        </>
      )}
    </Modal>
  );
}
