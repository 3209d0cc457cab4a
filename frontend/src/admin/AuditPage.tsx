import { roleLabel } from './rules';
import { useState } from 'react';
import { Alert, Button, Select, Table, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api, errorMessage, type AuditEntry, type AuditPage as Page } from '../api';
import { dateTime } from '../lib/format';

/** Action filters: a group is a prefix ending in ".", the server's filter form. */
const filters = [
  { value: '', label: 'audit.all' },
  { value: 'auth.', label: 'audit.group.auth' },
  { value: 'user.', label: 'audit.group.user' },
  { value: 'api_key.', label: 'audit.group.api_key' },
  { value: 'webhook.', label: 'audit.group.webhook' },
  { value: 'flow.', label: 'audit.group.flow' },
  { value: 'settings.', label: 'audit.group.settings' },
  { value: 'contact.', label: 'audit.group.contact' },
  { value: 'conversation.', label: 'audit.group.conversation' },
  { value: 'bot.', label: 'audit.group.bot' },
] as const;

/** /app/admin/audit: who did what to the workspace, when and from where. */
export default function AuditPage() {
  const { t, i18n } = useTranslation();
  const [action, setAction] = useState('');
  const list = useInfiniteQuery({
    queryKey: ['audit', action],
    queryFn: ({ pageParam }) => api.audit.list({ action, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: Page) => last.next_cursor ?? undefined,
    staleTime: 10_000,
  });
  const entries = list.data?.pages.flatMap((p) => p.entries) ?? [];

  const actor = (e: AuditEntry) => {
    if (e.actor.type === 'anonymous') return <Typography.Text type="secondary">{t('audit.anonymous')}</Typography.Text>;
    return (
      <span>
        {e.actor.name || e.actor.id}
        {e.actor.type === 'api_key' ? <Tag style={{ marginLeft: 6 }}>{t('audit.apiKey')}</Tag> : null}
      </span>
    );
  };
  const details = (e: AuditEntry) => {
    // Known details in words (a role by its name, a reason by its meaning); anything else as it was stored.
    const value = (k: string, v: unknown) =>
      k === 'role' && typeof v === 'string'
        ? roleLabel(t, v)
        : k === 'reason' && typeof v === 'string'
          ? t(`audit.reason.${v}`, { defaultValue: v })
          : typeof v === 'object'
            ? JSON.stringify(v)
            : String(v);
    const parts = Object.entries(e.details ?? {}).map(([k, v]) => `${t(`audit.detail.${k}`, { defaultValue: k })}：${value(k, v)}`);
    return parts.length ? <Typography.Text type="secondary">{parts.join(' · ')}</Typography.Text> : null;
  };

  return (
    <div className="admin-page" data-testid="audit-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('audit.title')}
        </Typography.Title>
        <Select
          value={action}
          onChange={setAction}
          style={{ minWidth: 180 }}
          aria-label={t('audit.filter')}
          data-testid="audit-filter"
          options={filters.map((f) => ({ value: f.value, label: t(f.label) }))}
        />
      </div>
      <Typography.Paragraph type="secondary">{t('audit.intro')}</Typography.Paragraph>
      {list.isError ? <Alert type="error" showIcon title={errorMessage(list.error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Table<AuditEntry>
        rowKey="id"
        loading={list.isPending}
        dataSource={entries}
        pagination={false}
        scroll={{ x: 900 }}
        locale={{ emptyText: t('audit.empty') }}
        rowClassName={() => 'audit-row'}
        columns={[
          { title: t('audit.when'), dataIndex: 'at', width: 170, render: (d: string) => dateTime(d, i18n.language) },
          { title: t('audit.who'), key: 'actor', width: 180, render: (_: unknown, e: AuditEntry) => actor(e) },
          {
            title: t('audit.what'),
            key: 'action',
            render: (_: unknown, e: AuditEntry) => (
              <div>
                <div data-testid="audit-action" data-action={e.action}>
                  {t(`audit.actions.${e.action}`, { defaultValue: e.action })}
                  {e.target_id ? (
                    <Typography.Text type="secondary" code style={{ marginLeft: 6 }}>
                      {e.target_id.slice(0, 8)}
                    </Typography.Text>
                  ) : null}
                </div>
                {details(e)}
              </div>
            ),
          },
          {
            title: t('audit.where'),
            key: 'where',
            width: 200,
            render: (_: unknown, e: AuditEntry) => (
              <Tooltip title={e.user_agent}>
                <span>{e.ip || '—'}</span>
              </Tooltip>
            ),
          },
        ]}
      />
      {list.hasNextPage ? (
        <div style={{ textAlign: 'center', marginTop: 16 }}>
          <Button onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage} data-testid="audit-more">
            {t('audit.more')}
          </Button>
        </div>
      ) : null}
    </div>
  );
}
