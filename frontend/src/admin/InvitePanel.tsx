import { useState } from 'react';
import { Alert, Button, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type CreatedInvite, type Invite, type InviteRequest, type Role } from '../api';
import { applyFormError } from '../lib/forms';
import { dateTime } from '../lib/format';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';
import { CopyButton } from './CopyButton';
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
              <Popconfirm title={t('invites.revokeConfirm')} okText={t('invites.revoke')} cancelText={t('app.cancel')} onConfirm={() => revoke(inv)}>
                <Button size="small" danger data-testid="invite-revoke">
                  {t('invites.revoke')}
                </Button>
              </Popconfirm>
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
            <Form.Item
              name="email"
              label={t('agents.email')}
              rules={[
                { required: true, message: t('auth.required') },
                { type: 'email', message: t('auth.invalidEmail') },
              ]}
            >
              <Input autoComplete="off" data-testid="invite-email" />
            </Form.Item>
            <Space.Compact block>
              <Form.Item name="role" label={t('agents.role')} style={{ flex: 1, marginRight: 12 }}>
                <Select
                  options={rolesGrantable(myRole, roleNames).map((r) => ({
                    value: r,
                    label: roleLabel(t, r),
                  }))}
                  data-testid="invite-role"
                />
              </Form.Item>
              <Form.Item name="max_concurrent" label={t('agents.maxConcurrent')} style={{ flex: 1 }}>
                <InputNumber min={1} max={1000} style={{ width: '100%' }} />
              </Form.Item>
            </Space.Compact>
            <Form.Item name="skills" label={t('agents.skills')}>
              <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',']} placeholder={t('agents.skillsPlaceholder')} />
            </Form.Item>
          </Form>
        </>
      )}
    </Modal>
  );
}
