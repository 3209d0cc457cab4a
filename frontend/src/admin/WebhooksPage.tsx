import { useState } from 'react';
import { Alert, Button, Checkbox, Descriptions, Form, Input, Modal, Popconfirm, Space, Switch, Table, Tag, Tooltip, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import type { Webhook, WebhookDelivery, WebhookEventType } from '../api/types';
import { useToast } from '../components/Toast';
import { applyFormError } from '../lib/forms';
import { dateTime } from '../lib/format';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';
import { CopyButton } from './CopyButton';

/** Every event a webhook may subscribe to, in the server's order. */
const WEBHOOK_EVENTS: WebhookEventType[] = [
  'conversation.created',
  'conversation.assigned',
  'conversation.transferred',
  'conversation.resolved',
  'conversation.reopened',
  'message.created',
  'contact.created',
  'contact.updated',
  'csat.submitted',
];

/** The i18n key of each event's label. */
const EVENT_LABEL = {
  'conversation.created': 'webhooks.ev_conversation_created',
  'conversation.assigned': 'webhooks.ev_conversation_assigned',
  'conversation.transferred': 'webhooks.ev_conversation_transferred',
  'conversation.resolved': 'webhooks.ev_conversation_resolved',
  'conversation.reopened': 'webhooks.ev_conversation_reopened',
  'message.created': 'webhooks.ev_message_created',
  'contact.created': 'webhooks.ev_contact_created',
  'contact.updated': 'webhooks.ev_contact_updated',
  'csat.submitted': 'webhooks.ev_csat_submitted',
} as const satisfies Record<WebhookEventType, string>;

function eventLabelKey(e: WebhookEventType) {
  return EVENT_LABEL[e];
}

interface FormValues {
  url: string;
  events: WebhookEventType[];
  description: string;
  include_private: boolean;
  enabled: boolean;
}

/** /app/admin/webhooks: the workspace's webhooks, their secrets and delivery logs. */
export default function WebhooksPage() {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const me = useMe();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: keys.webhooks, queryFn: api.webhooks.list, staleTime: 10_000 });
  const [editing, setEditing] = useState<Webhook | 'new' | null>(null);
  const [secret, setSecret] = useState<Webhook | null>(null);
  const canEdit = isAdmin(me.data?.user.role);
  const refresh = () => qc.invalidateQueries({ queryKey: keys.webhooks });

  async function run<T>(fn: () => Promise<T>, ok?: (v: T) => string) {
    try {
      const v = await fn();
      if (ok) toast.success(ok(v));
      return v;
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
      return undefined;
    }
  }

  async function test(w: Webhook) {
    const d = await run(() => api.webhooks.test(w.id));
    if (!d) return;
    if (d.success) toast.success(t('webhooks.testOk', { status: d.response_status, ms: d.latency_ms }));
    else toast.error(t('webhooks.testFailed', { error: d.error }));
    void qc.invalidateQueries({ queryKey: keys.webhookDeliveries(w.id) });
  }

  async function rotate(w: Webhook) {
    const r = await run(() => api.webhooks.rotateSecret(w.id));
    if (r) {
      setSecret(r);
      void refresh();
    }
  }

  async function remove(w: Webhook) {
    if (
      (await run(
        () => api.webhooks.remove(w.id),
        () => t('webhooks.deleted'),
      )) !== undefined
    ) {
      qc.setQueryData<Webhook[]>(keys.webhooks, (cur) => cur?.filter((x) => x.id !== w.id));
    }
  }

  return (
    <div className="admin-page" data-testid="webhooks-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('webhooks.title')}
        </Typography.Title>
        {canEdit ? (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="create-webhook">
            {t('webhooks.create')}
          </Button>
        ) : null}
      </div>
      <Typography.Paragraph type="secondary">{t('webhooks.intro')}</Typography.Paragraph>
      {list.isError ? <Alert type="error" showIcon title={errorMessage(list.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<Webhook>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data ?? []}
        pagination={false}
        scroll={{ x: 720 }}
        locale={{ emptyText: t('webhooks.empty') }}
        expandable={{ expandedRowRender: (w) => <Deliveries webhook={w} canEdit={canEdit} />, rowExpandable: () => true }}
        columns={[
          {
            title: t('webhooks.url'),
            dataIndex: 'url',
            render: (_: string, w: Webhook) => (
              <div data-testid="webhook-row">
                <Typography.Text code style={{ wordBreak: 'break-all' }}>
                  {w.url}
                </Typography.Text>
                {w.description ? <div className="muted">{w.description}</div> : null}
              </div>
            ),
          },
          {
            title: t('webhooks.events'),
            dataIndex: 'events',
            render: (evs: WebhookEventType[]) => (
              <Space size={[4, 4]} wrap>
                {evs.map((e) => (
                  <Tag key={e}>{t(eventLabelKey(e))}</Tag>
                ))}
              </Space>
            ),
          },
          { title: t('webhooks.status'), key: 'status', render: (_: unknown, w: Webhook) => <Status w={w} /> },
          {
            key: 'actions',
            align: 'right',
            render: (_: unknown, w: Webhook) =>
              canEdit ? (
                <Space wrap>
                  <Button size="small" onClick={() => void test(w)} data-testid="webhook-test">
                    {t('webhooks.test')}
                  </Button>
                  <Button size="small" onClick={() => setEditing(w)} data-testid="webhook-edit">
                    {t('webhooks.edit')}
                  </Button>
                  <Popconfirm title={t('webhooks.rotateConfirm')} okText={t('webhooks.rotate')} cancelText={t('app.cancel')} onConfirm={() => rotate(w)}>
                    <Button size="small">{t('webhooks.rotate')}</Button>
                  </Popconfirm>
                  <Popconfirm
                    title={t('webhooks.deleteConfirm')}
                    okText={t('webhooks.delete')}
                    cancelText={t('app.cancel')}
                    okButtonProps={{ danger: true }}
                    onConfirm={() => remove(w)}
                  >
                    <Button size="small" danger>
                      {t('webhooks.delete')}
                    </Button>
                  </Popconfirm>
                </Space>
              ) : null,
          },
        ]}
      />
      <WebhookModal
        editing={editing}
        onClose={() => setEditing(null)}
        onSaved={(w, created) => {
          setEditing(null);
          if (created) setSecret(w);
          else toast.success(t('webhooks.saved'));
          void refresh();
        }}
      />
      <Modal
        open={!!secret}
        title={t('webhooks.secretTitle')}
        onCancel={() => setSecret(null)}
        footer={
          <Button onClick={() => setSecret(null)} data-testid="webhook-secret-close">
            {t('webhooks.close')}
          </Button>
        }
        mask={{ closable: false }}
      >
        <Alert type="warning" showIcon title={t('webhooks.shownOnce')} style={{ marginBottom: 12 }} />
        <pre className="snippet" data-testid="webhook-secret">
          {secret?.secret}
        </pre>
        {secret?.secret ? <CopyButton text={secret.secret} type="primary" /> : null}
        {secret?.previous_secret_expires_at ? (
          <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
            {t('webhooks.previousUntil', { time: dateTime(secret.previous_secret_expires_at, i18n.language) })}
          </Typography.Paragraph>
        ) : null}
      </Modal>
    </div>
  );
}

function Status({ w }: { w: Webhook }) {
  const { t } = useTranslation();
  if (w.enabled) return <Tag color="green">{t('webhooks.active')}</Tag>;
  if (w.disabled_reason)
    return (
      <Tooltip title={t('webhooks.disabledBecause', { reason: w.disabled_reason })}>
        <Tag color="red" data-testid="webhook-disabled">
          {t('webhooks.disabled')}
        </Tag>
      </Tooltip>
    );
  return <Tag>{t('webhooks.paused')}</Tag>;
}

function WebhookModal({ editing, onClose, onSaved }: { editing: Webhook | 'new' | null; onClose: () => void; onSaved: (w: Webhook, created: boolean) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<FormValues>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const isNew = editing === 'new';
  const initial: FormValues =
    editing && editing !== 'new'
      ? { url: editing.url, events: editing.events, description: editing.description, include_private: editing.include_private, enabled: editing.enabled }
      : { url: '', events: ['message.created'], description: '', include_private: false, enabled: true };

  async function submit(v: FormValues) {
    setBusy(true);
    setError(null);
    try {
      const body = { url: v.url.trim(), events: v.events, description: v.description.trim(), include_private: v.include_private, enabled: v.enabled };
      const w = isNew ? await api.webhooks.create(body) : await api.webhooks.update((editing as Webhook).id, body);
      onSaved(w, isNew);
    } catch (err) {
      setError(applyFormError(form, err, ['url', 'events', 'description'], t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={!!editing}
      title={isNew ? t('webhooks.create') : t('webhooks.edit')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={isNew ? t('webhooks.create') : t('webhooks.save')}
      cancelText={t('app.cancel')}
      confirmLoading={busy}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'webhook-submit' } as Record<string, string>}
    >
      {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} /> : null}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={submit} initialValues={initial}>
        <Form.Item name="url" label={t('webhooks.url')} rules={[{ required: true, whitespace: true, message: t('auth.required') }]}>
          <Input placeholder={t('webhooks.urlPlaceholder')} autoComplete="off" data-testid="webhook-url" />
        </Form.Item>
        <Form.Item name="events" label={t('webhooks.events')} rules={[{ required: true, type: 'array', min: 1, message: t('webhooks.eventsRequired') }]}>
          <Checkbox.Group
            options={WEBHOOK_EVENTS.map((e) => ({ value: e, label: t(eventLabelKey(e)) }))}
            style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(200px, 1fr))', gap: 6 }}
          />
        </Form.Item>
        <Form.Item name="description" label={t('webhooks.description')}>
          <Input placeholder={t('webhooks.descriptionPlaceholder')} maxLength={500} />
        </Form.Item>
        <Form.Item name="include_private" label={t('webhooks.includePrivate')} extra={t('webhooks.includePrivateHelp')} valuePropName="checked">
          <Switch />
        </Form.Item>
        {!isNew ? (
          <Form.Item name="enabled" label={t('webhooks.enabled')} valuePropName="checked">
            <Switch />
          </Form.Item>
        ) : null}
      </Form>
    </Modal>
  );
}

/** A webhook's delivery log, newest first, a page at a time. */
function Deliveries({ webhook, canEdit }: { webhook: Webhook; canEdit: boolean }) {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const [open, setOpen] = useState<WebhookDelivery | null>(null);
  const q = useInfiniteQuery({
    queryKey: keys.webhookDeliveries(webhook.id),
    queryFn: ({ pageParam }) => api.webhooks.deliveries(webhook.id, pageParam || undefined),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows = q.data?.pages.flatMap((p) => p.deliveries) ?? [];

  async function redeliver(d: WebhookDelivery) {
    try {
      const r = await api.webhooks.redeliver(webhook.id, d.id);
      if (r.success) toast.success(t('webhooks.redelivered', { status: r.response_status }));
      else toast.error(t('webhooks.testFailed', { error: r.error }));
      void qc.invalidateQueries({ queryKey: keys.webhookDeliveries(webhook.id) });
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div data-testid="webhook-deliveries">
      <Typography.Text strong>{t('webhooks.deliveries')}</Typography.Text>
      {q.isError ? <Alert type="error" showIcon title={errorMessage(q.error, t('app.error'))} /> : null}
      <Table<WebhookDelivery>
        rowKey="id"
        size="small"
        loading={q.isPending}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 640 }}
        locale={{ emptyText: t('webhooks.noDeliveries') }}
        onRow={(d) => ({ onClick: () => setOpen(d), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('webhooks.when'), dataIndex: 'created_at', render: (d: string) => dateTime(d, i18n.language) },
          { title: t('webhooks.event'), dataIndex: 'event_type', render: (e: string) => <Typography.Text code>{e}</Typography.Text> },
          { title: t('webhooks.attempt'), dataIndex: 'attempt' },
          {
            title: t('webhooks.result'),
            key: 'result',
            render: (_: unknown, d: WebhookDelivery) => (
              <Tag color={d.success ? 'green' : 'red'} data-testid="delivery-result">
                {d.success ? t('webhooks.success') : t('webhooks.failure')} · {d.response_status ? `HTTP ${d.response_status}` : d.error || t('webhooks.noAnswer')}
              </Tag>
            ),
          },
          { title: t('webhooks.latency'), dataIndex: 'latency_ms', render: (ms: number) => t('webhooks.latencyMs', { ms }) },
          {
            key: 'actions',
            align: 'right',
            render: (_: unknown, d: WebhookDelivery) =>
              canEdit ? (
                <Button
                  size="small"
                  onClick={(e) => {
                    e.stopPropagation();
                    void redeliver(d);
                  }}
                >
                  {t('webhooks.redeliver')}
                </Button>
              ) : null,
          },
        ]}
      />
      {q.hasNextPage ? (
        <Button style={{ marginTop: 8 }} loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          {t('webhooks.loadMore')}
        </Button>
      ) : null}
      <Modal open={!!open} title={open?.event_type} onCancel={() => setOpen(null)} footer={null} width={760}>
        {open ? (
          <>
            <Descriptions size="small" column={1} bordered>
              <Descriptions.Item label={t('webhooks.url')}>{open.url}</Descriptions.Item>
              <Descriptions.Item label={t('webhooks.result')}>{open.success ? t('webhooks.success') : `${t('webhooks.failure')}: ${open.error}`}</Descriptions.Item>
              <Descriptions.Item label={t('webhooks.latency')}>{t('webhooks.latencyMs', { ms: open.latency_ms })}</Descriptions.Item>
            </Descriptions>
            <Typography.Title level={5}>{t('webhooks.request')}</Typography.Title>
            <pre className="snippet">{formatHeaders(open.request_headers)}</pre>
            <pre className="snippet">{open.request_body}</pre>
            <Typography.Title level={5}>{t('webhooks.response')}</Typography.Title>
            <pre className="snippet">{(open.response_status ? `HTTP ${open.response_status}\n` : '') + formatHeaders(open.response_headers)}</pre>
            <pre className="snippet">{open.response_body}</pre>
          </>
        ) : null}
      </Modal>
    </div>
  );
}

function formatHeaders(h: Record<string, string>): string {
  return Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}
