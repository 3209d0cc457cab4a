import { useState } from 'react';
import { Button, Form, Input, Modal, Popconfirm, Radio, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type CannedReply, type CannedScope } from '../api';
import { useToast } from '../components/Toast';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';

const VARS = ['{{visitor.name}}', '{{visitor.first_name}}', '{{visitor.email}}', '{{agent.name}}', '{{conversation.id}}'];

/** /app/admin/canned-replies: the workspace's replies (admins) and each agent's own. */
export default function CannedRepliesPage() {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const me = useMe();
  const admin = isAdmin(me.data?.user.role);
  const list = useQuery({ queryKey: keys.canned, queryFn: api.cannedReplies.list, staleTime: 30_000 });
  const [editing, setEditing] = useState<CannedReply | 'new' | null>(null);

  async function remove(r: CannedReply) {
    try {
      await api.cannedReplies.remove(r.id);
      toast.success(t('cannedPage.deleted'));
      void qc.invalidateQueries({ queryKey: keys.canned });
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  return (
    <div className="admin-page" data-testid="canned-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('cannedPage.title')}
        </Typography.Title>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="add-canned">
          {t('cannedPage.add')}
        </Button>
      </div>
      <Typography.Paragraph type="secondary">
        {t('cannedPage.intro')}{' '}
        {VARS.map((v) => (
          <Typography.Text key={v} code translate="no">
            {v}
          </Typography.Text>
        ))}
      </Typography.Paragraph>
      <Table<CannedReply>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data ?? []}
        pagination={false}
        scroll={{ x: 640 }}
        locale={{ emptyText: t('cannedPage.empty') }}
        columns={[
          { title: t('cannedPage.shortcut'), dataIndex: 'shortcut', width: 160, render: (s: string) => <code data-testid="canned-shortcut">/{s}</code> },
          { title: t('cannedPage.body'), dataIndex: 'body', render: (b: string) => <span className="break-all">{b}</span> },
          { title: t('cannedPage.scope'), dataIndex: 'scope', width: 120, render: (s: CannedScope) => <Tag>{t(`cannedPage.scope_${s}`)}</Tag> },
          {
            title: '',
            key: 'actions',
            width: 160,
            render: (_: unknown, r: CannedReply) =>
              r.scope === 'personal' || admin ? (
                <Space>
                  <Button size="small" onClick={() => setEditing(r)}>
                    {t('cannedPage.edit')}
                  </Button>
                  <Popconfirm title={t('cannedPage.deleteConfirm', { shortcut: r.shortcut })} onConfirm={() => void remove(r)}>
                    <Button size="small" danger>
                      {t('cannedPage.delete')}
                    </Button>
                  </Popconfirm>
                </Space>
              ) : null,
          },
        ]}
      />
      {editing ? <CannedModal reply={editing === 'new' ? null : editing} admin={admin} onClose={() => setEditing(null)} /> : null}
    </div>
  );
}

function CannedModal({ reply, admin, onClose }: { reply: CannedReply | null; admin: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const [shortcut, setShortcut] = useState(reply?.shortcut ?? '');
  const [body, setBody] = useState(reply?.body ?? '');
  const [scope, setScope] = useState<CannedScope>(reply?.scope ?? (admin ? 'tenant' : 'personal'));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  async function save() {
    const e: Record<string, string> = {};
    if (!/^\/?[\p{L}\p{N}_.-]+$/u.test(shortcut.trim())) e.shortcut = t('cannedPage.shortcutRule');
    if (!body.trim()) e.body = t('cannedPage.bodyRequired');
    setErrors(e);
    if (Object.keys(e).length) return;
    setBusy(true);
    try {
      const input = { shortcut: shortcut.trim(), body, scope };
      if (reply) await api.cannedReplies.update(reply.id, input);
      else await api.cannedReplies.create(input);
      toast.success(t('cannedPage.saved'));
      void qc.invalidateQueries({ queryKey: keys.canned });
      onClose();
    } catch (err) {
      setErrors({ body: errorMessage(err, t('app.error')) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open
      title={reply ? `/${reply.shortcut}` : t('cannedPage.add')}
      onCancel={onClose}
      onOk={() => void save()}
      okText={t('cannedPage.save')}
      cancelText={t('cannedPage.cancel')}
      confirmLoading={busy}
      okButtonProps={{ 'data-testid': 'canned-save' } as never}
    >
      <Form layout="vertical">
        <Form.Item label={t('cannedPage.shortcut')} htmlFor="canned-shortcut" validateStatus={errors.shortcut ? 'error' : undefined} help={errors.shortcut}>
          <Input id="canned-shortcut" prefix="/" value={shortcut} maxLength={40} onChange={(e) => setShortcut(e.target.value)} data-testid="canned-shortcut-input" />
        </Form.Item>
        <Form.Item label={t('cannedPage.body')} htmlFor="canned-body" validateStatus={errors.body ? 'error' : undefined} help={errors.body}>
          <Input.TextArea
            id="canned-body"
            value={body}
            maxLength={4000}
            autoSize={{ minRows: 3, maxRows: 10 }}
            onChange={(e) => setBody(e.target.value)}
            data-testid="canned-body-input"
          />
        </Form.Item>
        <Form.Item label={t('cannedPage.scope')} help={admin ? undefined : t('cannedPage.tenantOnlyAdmins')}>
          <Radio.Group value={scope} onChange={(e) => setScope(e.target.value as CannedScope)}>
            <Radio value="tenant" disabled={!admin}>
              {t('cannedPage.scope_tenant')}
            </Radio>
            <Radio value="personal">{t('cannedPage.scope_personal')}</Radio>
          </Radio.Group>
        </Form.Item>
      </Form>
    </Modal>
  );
}
