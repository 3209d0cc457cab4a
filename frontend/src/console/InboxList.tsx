import { useEffect, useMemo, useState } from 'react';
import { Avatar, Badge, Button, Empty, Input, Segmented, Spin, Tag } from 'antd';
import { RobotOutlined, SearchOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Conversation, ConversationStatus, User } from '../api';
import { errorMessage } from '../api';
import { colorFor, relativeTime, visitorName } from '../lib/format';
import { useUi } from '../stores/ui';
import { useUnread } from '../stores/unread';
import type { InboxTab } from '../realtime/keys';
import { useConversations } from './useConversations';
import { isAdmin } from './useMe';
import { useNow } from './useNow';

const STATUSES: ConversationStatus[] = ['bot', 'queued', 'assigned', 'resolved'];

export function InboxList({ me, widgetKey, activeId }: { me: User; widgetKey?: string; activeId?: string }) {
  const { t, i18n } = useTranslation();
  const filter = useUi((s) => s.filter);
  const setFilter = useUi((s) => s.setFilter);
  const setVisibleIds = useUi((s) => s.setVisibleIds);
  const [search, setSearch] = useState('');
  const staff = isAdmin(me.role) || me.role === 'supervisor';
  const mine = useConversations({ tab: 'mine' }, me.id);
  const queue = useConversations({ tab: 'queue' }, me.id, !staff);
  const all = useConversations(filter.tab === 'all' ? filter : { tab: 'all' }, me.id);
  const current = filter.tab === 'mine' ? mine : filter.tab === 'queue' ? queue : all;
  const now = useNow(30_000);

  const anon = (id: string) => t('inbox.visitor', { id });
  const rows = useMemo(() => {
    const list = current.data ?? [];
    const q = search.trim().toLowerCase();
    if (!q) return list;
    return list.filter((c) =>
      [visitorName(c.visitor, anon), c.visitor?.email ?? '', c.last_message?.body ?? ''].some((s) => s.toLowerCase().includes(q)),
    );
    // anon depends on t only
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current.data, search, t]);

  useEffect(() => setVisibleIds(rows.map((c) => c.id)), [rows, setVisibleIds]);

  const count = (n: number | undefined) => (n ? <span className="tab-count">{n}</span> : null);
  const tabs = [
    { key: 'mine', label: <span data-testid="tab-mine">{t('inbox.mine')} {count(mine.data?.length)}</span> },
    { key: 'queue', label: <span data-testid="tab-queue">{t('inbox.queue')} {count(queue.data?.length)}</span> },
    { key: 'all', label: <span data-testid="tab-all">{t('inbox.all')}</span> },
  ];

  const nothingAtAll = filter.tab === 'all' && !filter.status && !search && (all.data?.length ?? 0) === 0;

  return (
    <section className="inbox" aria-label={t('nav.inbox')} data-testid="inbox">
      <div className="inbox-head">
        <Segmented
          block
          value={filter.tab}
          onChange={(k) => setFilter({ tab: k as InboxTab })}
          options={tabs.map((tab) => ({ value: tab.key, label: tab.label }))}
          aria-label={t('nav.inbox')}
          data-testid="inbox-tabs"
        />
        {filter.tab === 'all' ? (
          <div className="status-chips" role="group" aria-label={t('inbox.statusFilter')} data-testid="status-filter">
            {[undefined, ...STATUSES].map((st) => (
              <Tag.CheckableTag
                key={st ?? 'all'}
                checked={filter.status === st}
                onChange={() => setFilter(st ? { tab: 'all', status: st } : { tab: 'all' })}
              >
                {st ? t(`inbox.status_${st}`) : t('inbox.statusAll')}
              </Tag.CheckableTag>
            ))}
          </div>
        ) : null}
        <Input
          allowClear
          size="small"
          prefix={<SearchOutlined />}
          placeholder={t('inbox.search')}
          aria-label={t('inbox.search')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      <div className="inbox-list" role="list" data-testid="conversation-list">
        {current.isPending ? (
          <div className="pane-center">
            <Spin />
          </div>
        ) : current.isError ? (
          <Empty description={errorMessage(current.error, t('app.error'))}>
            <Button onClick={() => void current.refetch()}>{t('app.retry')}</Button>
          </Empty>
        ) : rows.length === 0 ? (
          <EmptyInbox widgetKey={widgetKey} firstRun={nothingAtAll || (filter.tab !== 'all' && (all.data?.length ?? 0) === 0 && !search)} />
        ) : (
          rows.map((c) => <Row key={c.id} c={c} active={c.id === activeId} lang={i18n.language} now={now} />)
        )}
      </div>
    </section>
  );
}

function EmptyInbox({ widgetKey, firstRun }: { widgetKey?: string; firstRun: boolean }) {
  const { t } = useTranslation();
  if (!firstRun) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('inbox.emptyFiltered')} />;
  return (
    <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('inbox.empty')} data-testid="inbox-empty">
      {widgetKey ? (
        <a href={`/demo?key=${encodeURIComponent(widgetKey)}`} target="_blank" rel="noopener" data-testid="inbox-demo-link">
          <Button type="primary">{t('inbox.openDemo')}</Button>
        </a>
      ) : null}
    </Empty>
  );
}

const MAX_ROW_LABELS = 2;

/** At most two of the conversation's labels, then "+N" for the rest. */
export function RowLabels({ labels }: { labels: readonly string[] | null | undefined }) {
  const { t } = useTranslation();
  if (!labels?.length) return null;
  const shown = labels.slice(0, MAX_ROW_LABELS);
  const rest = labels.slice(MAX_ROW_LABELS);
  return (
    <span className="conv-row-labels" aria-label={t('inbox.labels')} data-testid="conversation-item-labels">
      {shown.map((l) => (
        <Tag key={l} className="conv-tag" variant="filled" title={l}>
          {l}
        </Tag>
      ))}
      {rest.length ? (
        <Tag className="conv-tag conv-tag-more" variant="filled" title={t('inbox.moreLabels', { count: rest.length, labels: rest.join(', ') })}>
          +{rest.length}
        </Tag>
      ) : null}
    </span>
  );
}

function Row({ c, active, lang, now }: { c: Conversation; active: boolean; lang: string; now: number }) {
  const { t } = useTranslation();
  const unread = useUnread((s) => s.unseen[c.id]?.length ?? 0);
  const name = visitorName(c.visitor, (id) => t('inbox.visitor', { id }));
  const lm = c.last_message;
  const prefix = lm?.author_type === 'agent' ? `${t('inbox.you')}: ` : '';
  return (
    <Link
      to={`/app/conversations/${c.id}`}
      className={`conv-row ${active ? 'active' : ''} ${unread ? 'unread' : ''}`}
      role="listitem"
      aria-current={active ? 'true' : undefined}
      data-testid="conversation-item"
      data-id={c.id}
      data-status={c.status}
    >
      <Avatar style={{ background: colorFor(c.visitor?.id ?? c.id), flex: 'none' }}>{name.slice(0, 1).toUpperCase()}</Avatar>
      <div className="conv-row-body">
        <div className="conv-row-top">
          <span className="conv-row-name">{name}</span>
          <RowLabels labels={c.labels} />
          <span className="conv-row-time">{relativeTime(lm?.created_at ?? c.updated_at, lang, now, t('time.now'))}</span>
        </div>
        <div className="conv-row-bottom">
          <span className="conv-row-preview" data-testid="conversation-preview">
            {lm?.author_type === 'bot' ? <RobotOutlined style={{ marginRight: 4 }} /> : null}
            {lm ? prefix + (lm.body || t('inbox.attachment')) : t('inbox.noMessages')}
          </span>
          {unread ? <Badge count={unread} size="small" aria-label={t('inbox.unreadCount', { count: unread })} /> : null}
          {c.status !== 'assigned' ? <span className={`status-dot status-${c.status}`} title={t(`inbox.status_${c.status}`)} /> : null}
        </div>
      </div>
    </Link>
  );
}
