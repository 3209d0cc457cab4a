import { useState } from 'react';
import { Alert, Badge, Button, Form, Input, InputNumber, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { useToast } from '../components/Toast';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type Agent, type AgentRole, type CreateAgentRequest } from '../api';
import { applyFormError } from '../lib/forms';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';
import { PRESENCE_COLOR } from '../lib/presence';

const ROLES: AgentRole[] = ['agent', 'supervisor', 'admin'];
const FIELDS = ['email', 'name', 'password', 'role', 'skills', 'max_concurrent'] as const;

export default function AgentsPage() {
  const { t } = useTranslation();
  const me = useMe();
  const agents = useQuery({ queryKey: keys.agents, queryFn: api.agents.list, staleTime: 30_000 });
  const [open, setOpen] = useState(false);
  const canEdit = isAdmin(me.data?.user.role);

  return (
    <div className="admin-page" data-testid="agents-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('agents.title')}
        </Typography.Title>
        {canEdit ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setOpen(true)} data-testid="add-agent">
            {t('agents.add')}
          </Button>
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
          { title: t('agents.role'), dataIndex: 'role', render: (r: Agent['role']) => <Tag>{t(`agents.role_${r}`)}</Tag> },
          {
            title: t('agents.skills'),
            dataIndex: 'skills',
            render: (s: string[] | undefined) => (s ?? []).map((x) => <Tag key={x} color="blue">{x}</Tag>),
          },
          { title: t('agents.maxConcurrent'), dataIndex: 'max_concurrent', align: 'right' },
          {
            title: t('agents.status'),
            dataIndex: 'status',
            render: (s: Agent['status']) => <Badge color={PRESENCE_COLOR[s] ?? PRESENCE_COLOR.offline} text={t(`nav.${s ?? 'offline'}`)} />,
          },
        ]}
      />
      <AddAgentModal open={open} onClose={() => setOpen(false)} />
    </div>
  );
}

function AddAgentModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const [form] = Form.useForm<CreateAgentRequest>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: CreateAgentRequest) {
    setBusy(true);
    setError(null);
    try {
      const agent = await api.agents.create({ ...values, skills: values.skills ?? [], email: values.email.trim(), name: values.name.trim() });
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
      <Form
        form={form}
        layout="vertical"
        requiredMark={false}
        onFinish={submit}
        initialValues={{ role: 'agent', max_concurrent: 5, skills: [] }}
        data-testid="add-agent-form"
      >
        <Form.Item name="email" label={t('agents.email')} rules={[{ required: true, message: t('auth.required') }, { type: 'email', message: t('auth.invalidEmail') }]}>
          <Input autoComplete="off" data-testid="agent-email" />
        </Form.Item>
        <Form.Item name="name" label={t('agents.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input autoComplete="off" data-testid="agent-name" />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('agents.password')}
          extra={t('auth.passwordHint')}
          rules={[{ required: true, message: t('auth.required') }, { min: 8, message: t('auth.passwordTooShort') }]}
        >
          <Input.Password autoComplete="new-password" data-testid="agent-password" />
        </Form.Item>
        <Space.Compact block>
          <Form.Item name="role" label={t('agents.role')} style={{ flex: 1, marginRight: 12 }}>
            <Select options={ROLES.map((r) => ({ value: r, label: t(`agents.role_${r}`) }))} />
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
