import { useState } from 'react';
import { Alert, Button, Card, Descriptions, Form, Input, Modal, Progress, Radio, Table, Tag, Typography } from 'antd';
import { ConfirmButton } from '../components/ConfirmButton';
import { useToast } from '../components/Toast';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type ApiKey, type ApiKeyRole, type CreatedApiKey, type Usage } from '../api';
import { applyFormError } from '../lib/forms';
import { keys } from '../realtime/keys';
import { dateTime } from '../lib/format';
import { isAdmin, useMe } from '../console/useMe';
import { CopyButton } from './CopyButton';

interface CreateValues {
  name: string;
  role: ApiKeyRole;
}

export default function ApiKeysPage() {
  const { t, i18n } = useTranslation();
  const message = useToast();
  const me = useMe();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: keys.apiKeys, queryFn: api.apiKeys.list, staleTime: 30_000 });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const canEdit = isAdmin(me.data?.user.role);

  async function revoke(id: string) {
    try {
      await api.apiKeys.revoke(id);
      qc.setQueryData<ApiKey[]>(keys.apiKeys, (cur) => cur?.filter((k) => k.id !== id));
      message.success(t('apiKeys.revoked'));
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div className="admin-page" data-testid="api-keys-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('apiKeys.title')}
        </Typography.Title>
        {canEdit ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="create-api-key">
            {t('apiKeys.create')}
          </Button>
        ) : null}
      </div>
      <Typography.Paragraph type="secondary">
        {t('apiKeys.intro')}{' '}
        <a href="/api/docs" target="_blank" rel="noopener" data-testid="api-docs-link">
          {t('apiKeys.docs')}
        </a>
      </Typography.Paragraph>
      <UsageCard />
      {list.isError ? <Alert type="error" showIcon title={errorMessage(list.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<ApiKey>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data ?? []}
        pagination={false}
        scroll={{ x: 640 }}
        locale={{ emptyText: t('apiKeys.empty') }}
        columns={[
          { title: t('apiKeys.name'), dataIndex: 'name' },
          { title: t('apiKeys.role'), dataIndex: 'role', render: (r: ApiKeyRole) => <Tag color={r === 'admin' ? 'red' : 'blue'}>{t(`agents.role_${r}`)}</Tag> },
          { title: t('apiKeys.prefix'), dataIndex: 'prefix', render: (p: string) => <Typography.Text code>{p}…</Typography.Text> },
          { title: t('apiKeys.created'), dataIndex: 'created_at', render: (d: string) => dateTime(d, i18n.language) },
          {
            key: 'actions',
            align: 'right',
            render: (_: unknown, k: ApiKey) =>
              canEdit ? (
                <ConfirmButton question={t('apiKeys.revokeConfirm')} onConfirm={() => revoke(k.id)} danger testId="revoke-api-key" confirmTestId="revoke-confirm">
                  {t('apiKeys.revoke')}
                </ConfirmButton>
              ) : null,
          },
        ]}
      />
      <CreateKeyModal
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(k) => {
          setCreating(false);
          setCreated(k);
          void qc.invalidateQueries({ queryKey: keys.apiKeys });
        }}
      />
      <Modal
        open={!!created}
        title={t('apiKeys.newKey')}
        onCancel={() => setCreated(null)}
        footer={
          <Button onClick={() => setCreated(null)} data-testid="api-key-close">
            {t('app.close')}
          </Button>
        }
        mask={{ closable: false }}
      >
        <Alert type="warning" showIcon title={t('apiKeys.shownOnce')} style={{ marginBottom: 12 }} />
        <pre className="snippet" data-testid="new-api-key">
          {created?.key}
        </pre>
        {created ? <CopyButton text={created.key} type="primary" /> : null}
      </Modal>
    </div>
  );
}

function CreateKeyModal({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (k: CreatedApiKey) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<CreateValues>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(values: CreateValues) {
    setBusy(true);
    setError(null);
    try {
      const k = await api.apiKeys.create({ name: values.name.trim(), role: values.role });
      form.resetFields();
      onCreated(k);
    } catch (err) {
      setError(applyFormError(form, err, ['name', 'role'], t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('apiKeys.create')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('apiKeys.create')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'api-key-submit' } as Record<string, string>}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} initialValues={{ role: 'developer' }}>
        <Form.Item name="name" label={t('apiKeys.name')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input placeholder={t('apiKeys.namePlaceholder')} autoComplete="off" data-testid="api-key-name" />
        </Form.Item>
        <Form.Item name="role" label={t('apiKeys.role')}>
          <Radio.Group
            options={(['developer', 'admin'] as const).map((r) => ({ value: r, label: t(`apiKeys.role_${r}`) }))}
            style={{ display: 'flex', flexDirection: 'column', gap: 8 }}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** The workspace's plan: seats, conversations this month and the API rate. */
function UsageCard() {
  const { t } = useTranslation();
  const usage = useQuery({ queryKey: keys.usage, queryFn: api.usage, staleTime: 30_000 });
  const u = usage.data;
  const meter = (m: Usage['seats']) =>
    m.limit == null ? (
      <span>
        {m.used} ({t('usage.unlimited')})
      </span>
    ) : (
      <div style={{ maxWidth: 320 }}>
        <Progress percent={Math.min(100, Math.round((m.used / m.limit) * 100))} size="small" status={m.used >= m.limit ? 'exception' : 'normal'} showInfo={false} />
        <span>{t('usage.of', { used: m.used, limit: m.limit })}</span>
      </div>
    );
  return (
    <Card title={t('usage.title')} size="small" style={{ marginBottom: 16 }} loading={usage.isPending} data-testid="usage-card">
      {usage.isError ? <Alert type="error" showIcon title={errorMessage(usage.error, t('app.error'))} /> : null}
      {u ? (
        <Descriptions column={{ xs: 1, sm: 2 }} size="small">
          <Descriptions.Item label={t('usage.plan')}>
            <Tag color={u.plan === 'free' ? 'default' : 'gold'} data-testid="usage-plan">
              {t(`usage.plan_${u.plan}`)}
            </Tag>
          </Descriptions.Item>
          <Descriptions.Item label={t('usage.apiRate')}>{t('usage.perMinute', { n: u.api.per_key_per_minute })}</Descriptions.Item>
          <Descriptions.Item label={t('usage.seats')}>{meter(u.seats)}</Descriptions.Item>
          <Descriptions.Item label={t('usage.conversations')}>{meter(u.conversations)}</Descriptions.Item>
        </Descriptions>
      ) : null}
    </Card>
  );
}
