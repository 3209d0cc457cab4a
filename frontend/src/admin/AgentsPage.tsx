import { useState } from 'react';
import { Alert, Badge, Button, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useToast } from '../components/Toast';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type Agent, type CreateAgentRequest, type Role, type UpdateAgentRequest } from '../api';
import { applyFormError } from '../lib/forms';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';
import { PRESENCE_COLOR } from '../lib/presence';
import { canManage, roleLabel, rolesGrantable, useRoleNames } from './rules';
import { InviteModal, PendingInvites } from './InvitePanel';

const FIELDS = ['email', 'name', 'password', 'role', 'skills', 'max_concurrent'] as const;
const EDIT_FIELDS = ['name', 'role', 'skills', 'max_concurrent'] as const;

export default function AgentsPage() {
  const { t } = useTranslation();
  const me = useMe();
  const agents = useQuery({
    queryKey: keys.agents,
    queryFn: api.agents.list,
    staleTime: 30_000,
  });
  const [open, setOpen] = useState(false);
  const [inviting, setInviting] = useState(false);
  const [editing, setEditing] = useState<Agent | null>(null);
  const [resetting, setResetting] = useState<Agent | null>(null);
  const myRole = me.data?.user.role;
  const myId = me.data?.user.id;
  const canEdit = isAdmin(myRole);
  const message = useToast();
  const qc = useQueryClient();

  async function setActive(a: Agent, active: boolean) {
    try {
      const updated = active ? await api.agents.reactivate(a.id) : await api.agents.deactivate(a.id);
      qc.setQueryData<Agent[]>(keys.agents, (cur) => cur?.map((x) => (x.id === updated.id ? updated : x)));
      message.success(t(active ? 'agents.reactivated' : 'agents.deactivated'));
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div className="admin-page" data-testid="agents-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('agents.title')}
        </Typography.Title>
        {canEdit ? (
          <Space>
            <Button onClick={() => setOpen(true)} data-testid="add-agent">
              {t('agents.add')}
            </Button>
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setInviting(true)} data-testid="invite-agent">
              {t('invites.title')}
            </Button>
          </Space>
        ) : null}
      </div>
      {agents.isError ? <Alert type="error" showIcon title={errorMessage(agents.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<Agent>
        rowKey="id"
        loading={agents.isPending}
        dataSource={agents.data ?? []}
        pagination={false}
        scroll={{ x: 720 }}
        locale={{ emptyText: t('agents.empty') }}
        columns={[
          { title: t('agents.name'), dataIndex: 'name' },
          { title: t('agents.email'), dataIndex: 'email' },
          {
            title: t('agents.role'),
            dataIndex: 'role',
            render: (r: Agent['role']) => <Tag>{roleLabel(t, r)}</Tag>,
          },
          {
            title: t('agents.skills'),
            dataIndex: 'skills',
            render: (s: string[] | undefined) =>
              (s ?? []).map((x) => (
                <Tag key={x} color="blue">
                  {x}
                </Tag>
              )),
          },
          {
            title: t('agents.maxConcurrent'),
            dataIndex: 'max_concurrent',
            align: 'right',
          },
          {
            title: t('agents.status'),
            dataIndex: 'status',
            render: (s: Agent['status'], a: Agent) =>
              a.active === false ? (
                <Tag data-testid="agent-inactive">{t('agents.inactive')}</Tag>
              ) : (
                <Badge color={PRESENCE_COLOR[s] ?? PRESENCE_COLOR.offline} text={t(`nav.${s ?? 'offline'}`)} />
              ),
          },
          ...(canEdit
            ? [
                {
                  title: t('agents.actions'),
                  key: 'actions',
                  align: 'right' as const,
                  render: (_: unknown, a: Agent) =>
                    canManage(myRole, a.role) ? (
                      <Space size={4} wrap data-testid={`agent-actions-${a.email}`}>
                        <Button size="small" onClick={() => setEditing(a)} data-testid="agent-edit">
                          {t('agents.edit')}
                        </Button>
                        {a.id !== myId ? (
                          <>
                            <Button size="small" onClick={() => setResetting(a)} data-testid="agent-reset-password">
                              {t('agents.resetPassword')}
                            </Button>
                            {a.active === false ? (
                              <Popconfirm
                                title={t('agents.reactivateConfirm', {
                                  name: a.name,
                                })}
                                okText={t('agents.reactivate')}
                                cancelText={t('app.cancel')}
                                okButtonProps={
                                  {
                                    'data-testid': 'agent-reactivate-confirm',
                                  } as Record<string, string>
                                }
                                onConfirm={() => setActive(a, true)}
                              >
                                <Button size="small" data-testid="agent-reactivate">
                                  {t('agents.reactivate')}
                                </Button>
                              </Popconfirm>
                            ) : (
                              <Popconfirm
                                title={t('agents.deactivateConfirm', {
                                  name: a.name,
                                })}
                                okText={t('agents.deactivate')}
                                cancelText={t('app.cancel')}
                                okButtonProps={
                                  {
                                    danger: true,
                                    'data-testid': 'agent-deactivate-confirm',
                                  } as { danger: boolean }
                                }
                                onConfirm={() => setActive(a, false)}
                              >
                                <Button size="small" danger data-testid="agent-deactivate">
                                  {t('agents.deactivate')}
                                </Button>
                              </Popconfirm>
                            )}
                          </>
                        ) : null}
                      </Space>
                    ) : null,
                },
              ]
            : []),
        ]}
      />
      {canEdit ? <PendingInvites /> : null}
      <InviteModal open={inviting} onClose={() => setInviting(false)} myRole={myRole} />
      <AddAgentModal open={open} onClose={() => setOpen(false)} myRole={myRole} />
      <EditAgentModal agent={editing} myRole={myRole} self={editing?.id === myId} onClose={() => setEditing(null)} />
      <ResetPasswordModal agent={resetting} onClose={() => setResetting(null)} />
    </div>
  );
}

function AddAgentModal({ open, onClose, myRole }: { open: boolean; onClose: () => void; myRole: Role | undefined }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const [form] = Form.useForm<CreateAgentRequest>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const roleNames = useRoleNames();

  async function submit(values: CreateAgentRequest) {
    setBusy(true);
    setError(null);
    try {
      const agent = await api.agents.create({
        ...values,
        skills: values.skills ?? [],
        email: values.email.trim(),
        name: values.name.trim(),
      });
      qc.setQueryData<Agent[]>(keys.agents, (cur) => [...(cur ?? []).filter((a) => a.id !== agent.id), agent]);
      void qc.invalidateQueries({ queryKey: keys.agents });
      message.success(t('agents.created'));
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
      title={t('agents.add')}
      onCancel={onClose}
      okText={t('agents.add')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'add-agent-submit' } as Record<string, string>}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} initialValues={{ role: 'agent', max_concurrent: 5, skills: [] }} data-testid="add-agent-form">
        <Form.Item
          name="email"
          label={t('agents.email')}
          rules={[
            { required: true, message: t('auth.required') },
            { type: 'email', message: t('auth.invalidEmail') },
          ]}
        >
          <Input autoComplete="off" data-testid="agent-email" />
        </Form.Item>
        <Form.Item name="name" label={t('agents.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input autoComplete="off" data-testid="agent-name" />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('agents.password')}
          extra={t('auth.passwordHint')}
          rules={[
            { required: true, message: t('auth.required') },
            { min: 8, message: t('auth.passwordTooShort') },
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="agent-password" />
        </Form.Item>
        <Space.Compact block>
          <Form.Item name="role" label={t('agents.role')} style={{ flex: 1, marginRight: 12 }}>
            <Select
              options={rolesGrantable(myRole, roleNames).map((r) => ({
                value: r,
                label: roleLabel(t, r),
              }))}
            />
          </Form.Item>
          <Form.Item name="max_concurrent" label={t('agents.maxConcurrent')} style={{ flex: 1 }}>
            <InputNumber min={1} max={100} style={{ width: '100%' }} />
          </Form.Item>
        </Space.Compact>
        <Form.Item name="skills" label={t('agents.skills')}>
          <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',']} placeholder={t('agents.skillsPlaceholder')} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** Edits a user's name, role, skills and cap (within what the caller may grant). */
function EditAgentModal({ agent, myRole, self, onClose }: { agent: Agent | null; myRole: Role | undefined; self: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const [form] = Form.useForm<UpdateAgentRequest>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const roleNames = useRoleNames();
  // The owner's role is not one to give or take; nor is one's own here.
  const roleLocked = self || agent?.role === 'owner';

  async function submit(values: UpdateAgentRequest) {
    if (!agent) return;
    setBusy(true);
    setError(null);
    const patch: UpdateAgentRequest = {
      name: values.name?.trim(),
      skills: values.skills ?? [],
      max_concurrent: values.max_concurrent,
    };
    if (!roleLocked && values.role && values.role !== agent.role) patch.role = values.role;
    try {
      const updated = await api.agents.update(agent.id, patch);
      qc.setQueryData<Agent[]>(keys.agents, (cur) => cur?.map((x) => (x.id === updated.id ? updated : x)));
      message.success(t('agents.updated'));
      onClose();
    } catch (err) {
      setError(applyFormError(form, err, EDIT_FIELDS, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={agent !== null}
      title={t('agents.editTitle', { name: agent?.name ?? '' })}
      onCancel={onClose}
      okText={t('app.save')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'edit-agent-submit' } as Record<string, string>}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      {agent ? (
        <Form
          form={form}
          layout="vertical"
          requiredMark={false}
          onFinish={submit}
          initialValues={{
            name: agent.name,
            role: agent.role,
            skills: agent.skills ?? [],
            max_concurrent: agent.max_concurrent,
          }}
          data-testid="edit-agent-form"
        >
          <Form.Item name="name" label={t('agents.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input autoComplete="off" />
          </Form.Item>
          <Space.Compact block>
            <Form.Item name="role" label={t('agents.role')} style={{ flex: 1, marginRight: 12 }} extra={roleLocked ? t('agents.roleLocked') : undefined}>
              <Select
                disabled={roleLocked}
                data-testid="edit-agent-role"
                options={(roleLocked ? [agent.role] : rolesGrantable(myRole, roleNames)).map((r) => ({ value: r, label: roleLabel(t, r) }))}
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
      ) : null}
    </Modal>
  );
}

/** Sets another user's password; the server signs them out everywhere. */
function ResetPasswordModal({ agent, onClose }: { agent: Agent | null; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();
  const [form] = Form.useForm<{ password: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: { password: string }) {
    if (!agent) return;
    setBusy(true);
    setError(null);
    try {
      await api.agents.resetPassword(agent.id, values.password);
      message.success(t('agents.resetDone'));
      onClose();
    } catch (err) {
      setError(applyFormError(form, err, ['password'] as const, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={agent !== null}
      title={t('agents.resetTitle', { name: agent?.name ?? '' })}
      onCancel={onClose}
      okText={t('agents.resetPassword')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'reset-password-submit' } as Record<string, string>}
    >
      <Typography.Paragraph type="secondary">{t('agents.resetHint')}</Typography.Paragraph>
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={submit}>
        <Form.Item
          name="password"
          label={t('agents.newPassword')}
          extra={t('auth.passwordHint')}
          rules={[
            { required: true, message: t('auth.required') },
            { min: 8, message: t('auth.passwordTooShort') },
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="reset-password-input" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
