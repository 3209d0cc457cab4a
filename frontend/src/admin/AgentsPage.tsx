import { useState } from 'react';
import { Alert, Badge, Button, Form, Input, Space, Table, Tag, Typography, type FormInstance } from 'antd';
import { useToast } from '../components/Toast';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type Agent, type CreateAgentRequest, type Role, type UpdateAgentRequest } from '../api';
import { ConfirmButton } from '../components/ConfirmButton';
import { FormModal } from '../components/FormModal';
import { EmailItem } from '../components/EmailItem';
import { PasswordItem } from '../components/PasswordItem';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';
import { PRESENCE_COLOR } from '../lib/presence';
import { canManage, roleLabel, rolesGrantable, useRoleNames } from './rules';
import { InviteModal, PendingInvites } from './InvitePanel';
import { PersonFields } from './PersonFields';

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
                              <ConfirmButton
                                question={t('agents.reactivateConfirm', { name: a.name })}
                                onConfirm={() => setActive(a, true)}
                                testId="agent-reactivate"
                                confirmTestId="agent-reactivate-confirm"
                              >
                                {t('agents.reactivate')}
                              </ConfirmButton>
                            ) : (
                              <ConfirmButton
                                question={t('agents.deactivateConfirm', { name: a.name })}
                                onConfirm={() => setActive(a, false)}
                                danger
                                testId="agent-deactivate"
                                confirmTestId="agent-deactivate-confirm"
                              >
                                {t('agents.deactivate')}
                              </ConfirmButton>
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
  const roleNames = useRoleNames();

  async function submit(values: CreateAgentRequest, form: FormInstance<CreateAgentRequest>) {
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
  }

  return (
    <FormModal<CreateAgentRequest, (typeof FIELDS)[number]>
      open={open}
      title={t('agents.add')}
      okText={t('agents.add')}
      okTestId="add-agent-submit"
      onClose={onClose}
      onSubmit={submit}
      fields={FIELDS}
      formProps={{ initialValues: { role: 'agent', max_concurrent: 5, skills: [] }, 'data-testid': 'add-agent-form' }}
    >
      <EmailItem name="email" label={t('agents.email')} testId="agent-email" />
      <Form.Item name="name" label={t('agents.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
        <Input autoComplete="off" data-testid="agent-name" />
      </Form.Item>
      <PasswordItem name="password" label={t('agents.password')} testId="agent-password" />
      <PersonFields roles={rolesGrantable(myRole, roleNames)} />
    </FormModal>
  );
}

/** Edits a user's name, role, skills and cap (within what the caller may grant). */
function EditAgentModal({ agent, myRole, self, onClose }: { agent: Agent | null; myRole: Role | undefined; self: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const roleNames = useRoleNames();
  // The owner's role is not one to give or take; nor is one's own here.
  const roleLocked = self || agent?.role === 'owner';

  async function submit(values: UpdateAgentRequest) {
    if (!agent) return;
    const patch: UpdateAgentRequest = {
      name: values.name?.trim(),
      skills: values.skills ?? [],
      max_concurrent: values.max_concurrent,
    };
    if (!roleLocked && values.role && values.role !== agent.role) patch.role = values.role;
    const updated = await api.agents.update(agent.id, patch);
    qc.setQueryData<Agent[]>(keys.agents, (cur) => cur?.map((x) => (x.id === updated.id ? updated : x)));
    message.success(t('agents.updated'));
    onClose();
  }

  return (
    <FormModal<UpdateAgentRequest, (typeof EDIT_FIELDS)[number]>
      open={agent !== null}
      title={t('agents.editTitle', { name: agent?.name ?? '' })}
      okText={t('app.save')}
      okTestId="edit-agent-submit"
      onClose={onClose}
      onSubmit={submit}
      fields={EDIT_FIELDS}
      formProps={{
        initialValues: agent ? { name: agent.name, role: agent.role, skills: agent.skills ?? [], max_concurrent: agent.max_concurrent } : undefined,
        'data-testid': 'edit-agent-form',
      }}
    >
      {agent ? (
        <>
          <Form.Item name="name" label={t('agents.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
            <Input autoComplete="off" />
          </Form.Item>
          <PersonFields
            roles={roleLocked ? [agent.role] : rolesGrantable(myRole, roleNames)}
            roleLocked={roleLocked}
            roleExtra={roleLocked ? t('agents.roleLocked') : undefined}
            roleTestId="edit-agent-role"
          />
        </>
      ) : null}
    </FormModal>
  );
}

/** Sets another user's password; the server signs them out everywhere. */
function ResetPasswordModal({ agent, onClose }: { agent: Agent | null; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();

  async function submit(values: { password: string }) {
    if (!agent) return;
    await api.agents.resetPassword(agent.id, values.password);
    message.success(t('agents.resetDone'));
    onClose();
  }

  return (
    <FormModal<{ password: string }, 'password'>
      open={agent !== null}
      title={t('agents.resetTitle', { name: agent?.name ?? '' })}
      okText={t('agents.resetPassword')}
      okTestId="reset-password-submit"
      onClose={onClose}
      onSubmit={submit}
      fields={['password']}
      intro={<Typography.Paragraph type="secondary">{t('agents.resetHint')}</Typography.Paragraph>}
    >
      <PasswordItem name="password" label={t('agents.newPassword')} testId="reset-password-input" />
    </FormModal>
  );
}
