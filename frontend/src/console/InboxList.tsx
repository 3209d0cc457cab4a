import { lazy, memo, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Avatar, Badge, Button, Empty, Segmented, Spin, Tag, Tooltip } from 'antd';
import { FlagFilled, RobotOutlined, SearchOutlined, SortAscendingOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import type { Conversation, ConversationStatus, User } from '../api';
import { api, errorMessage } from '../api';
import { colorFor, relativeTime, visitorName } from '../lib/format';
import { useUi } from '../stores/ui';
import { useUnread } from '../stores/unread';
import { keys, type InboxFilter, type InboxTab } from '../realtime/keys';
import { useConversations, useCounts } from './useConversations';
import { isAdmin } from './useMe';
import { useNow } from './useNow';
import { VirtualList } from './VirtualList';
// Loaded on the first search: most inbox visits never search.
const SearchResults = lazy(() => import('./SearchResults'));
import { waitText } from './wait';

const STATUSES: ConversationStatus[] = ['bot', 'queued', 'assigned', 'resolved'];
/** Every row has this height (px), so the list can window them. */
export const ROW_HEIGHT = 78;

export function InboxList({ me, widgetKey, activeId }: { me: User; widgetKey?: string; activeId?: string }) {
  const { t, i18n } = useTranslation();
  const filter = useUi((s) => s.filter);
  const setFilter = useUi((s) => s.setFilter);
  const setVisibleIds = useUi((s) => s.setVisibleIds);
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const staff = isAdmin(me.role) || me.role === 'supervisor';
  const list = useConversations(filter, me.id, !staff && filter.tab === 'queue');
  const counts = useCounts();
  const teams = useQuery({ queryKey: keys.teams, queryFn: api.teams.list, staleTime: 5 * 60_000, retry: false });
  const now = useNow(30_000);
  const searchRef = useRef<HTMLInputElement | null>(null);

  // Search runs on the server, a moment after typing stops.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), 300);
    return () => clearTimeout(timer);
  }, [search]);

  // "/" anywhere but in a text field focuses the search box.
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const el = e.target as HTMLElement | null;
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      if (el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable)) return;
      e.preventDefault();
      searchRef.current?.focus();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  // One empty list, not a new one each render (the effect below would run on every render).
  const rows = useMemo(() => list.data ?? [], [list.data]);
  useEffect(() => setVisibleIds(rows.map((c) => c.id)), [rows, setVisibleIds]);

  // Labels to filter by: those on the conversations loaded so far.
  const labels = useMemo(() => [...new Set(rows.flatMap((c) => c.labels ?? []).concat(filter.label ? [filter.label] : []))].sort(), [rows, filter.label]);

  const count = (n: number | undefined) => (n ? <span className="tab-count">{n}</span> : null);
  const c = counts.data;
  const tabs: { value: InboxTab; label: React.ReactNode }[] = [
    {
      value: 'mine',
      label: (
        <span data-testid="tab-mine">
          {t('inbox.mine')} {count(c?.mine)}
        </span>
      ),
    },
    {
      value: 'queue',
      label: (
        <span data-testid="tab-queue">
          {t('inbox.queue')} {count(c?.queue)}
        </span>
      ),
    },
    {
      value: 'all',
      label: (
        <span data-testid="tab-all">
          {t('inbox.all')} {count(c?.all)}
        </span>
      ),
    },
    {
      value: 'snoozed',
      label: (
        <span data-testid="tab-snoozed">
          {t('console.snoozed')} {count(c?.snoozed)}
        </span>
      ),
    },
  ];
  const keep = { label: filter.label, sort: filter.sort };
  const nothingAtAll = filter.tab === 'all' && !filter.status && !filter.label && (c ? c.all + (c.by_status.resolved ?? 0) === 0 : rows.length === 0);
  const onEnd = useCallback(() => {
    if (list.hasMore && !list.loadingMore) void list.more();
  }, [list]);
  const activeIndex = activeId ? rows.findIndex((r) => r.id === activeId) : -1;

  return (
    <section className="inbox" aria-label={t('nav.inbox')} data-testid="inbox">
      <div className="inbox-head">
        {/* A plain input: antd's Input brings its TextArea into the inbox's first load. */}
        <div className="inbox-search">
          <SearchOutlined className="inbox-search-icon" aria-hidden />
          <input
            type="search"
            className="inbox-search-input"
            placeholder={t('console.searchHint')}
            aria-label={t('console.searchHint')}
            value={search}
            ref={searchRef}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') setSearch('');
            }}
            data-testid="inbox-search"
          />
        </div>
        {query ? null : (
          <>
            <Segmented
              block
              size="small"
              value={filter.tab === 'team' ? 'all' : filter.tab}
              onChange={(k) => setFilter({ tab: k as InboxTab, ...keep })}
              options={tabs}
              aria-label={t('nav.inbox')}
              data-testid="inbox-tabs"
            />
            {filter.tab === 'all' ? (
              <div className="status-chips" role="group" aria-label={t('inbox.statusFilter')} data-testid="status-filter">
                {[undefined, ...STATUSES].map((st) => (
                  <Tag.CheckableTag key={st ?? 'all'} checked={filter.status === st} onChange={() => setFilter(st ? { tab: 'all', status: st, ...keep } : { tab: 'all', ...keep })}>
                    {st ? t(`inbox.status_${st}`) : t('inbox.statusAll')}
                  </Tag.CheckableTag>
                ))}
              </div>
            ) : null}
            <div className="inbox-tools">
              {teams.data?.length ? (
                <select
                  className="native-select inbox-tool"
                  value={filter.tab === 'team' ? filter.team : ''}
                  aria-label={t('console.teamInbox')}
                  onChange={(e) => setFilter(e.target.value ? { tab: 'team', team: e.target.value, ...keep } : { tab: 'all', ...keep })}
                  data-testid="team-filter"
                >
                  <option value="">{t('console.allTeams')}</option>
                  {teams.data.map((tm) => (
                    <option key={tm.id} value={tm.id}>
                      {tm.name}
                      {c?.by_team[tm.id] ? ` (${c.by_team[tm.id]})` : ''}
                    </option>
                  ))}
                </select>
              ) : null}
              <select
                className="native-select inbox-tool"
                value={filter.label ?? ''}
                aria-label={t('console.labelFilter')}
                onChange={(e) => setFilter({ ...filter, label: e.target.value || undefined })}
                data-testid="label-filter"
              >
                <option value="">{t('console.anyLabel')}</option>
                {labels.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
              <Tooltip title={filter.sort === 'priority' ? t('console.sortPriority') : t('console.sortRecent')}>
                <Button
                  size="small"
                  type={filter.sort === 'priority' ? 'primary' : 'default'}
                  icon={<SortAscendingOutlined />}
                  aria-pressed={filter.sort === 'priority'}
                  aria-label={t('console.sortPriority')}
                  onClick={() => setFilter({ ...filter, sort: filter.sort === 'priority' ? undefined : 'priority' })}
                  data-testid="sort-priority"
                />
              </Tooltip>
            </div>
          </>
        )}
      </div>
      {query ? (
        <Suspense
          fallback={
            <div className="inbox-list pane-center">
              <Spin />
            </div>
          }
        >
          <SearchResults q={query} onClear={() => setSearch('')} />
        </Suspense>
      ) : list.isPending ? (
        <div className="inbox-list pane-center">
          <Spin />
        </div>
      ) : list.isError ? (
        <div className="inbox-list">
          <Empty description={errorMessage(list.error, t('app.error'))}>
            <Button onClick={() => void list.refetch()}>{t('app.retry')}</Button>
          </Empty>
        </div>
      ) : rows.length === 0 ? (
        <div className="inbox-list">
          <EmptyInbox widgetKey={widgetKey} firstRun={nothingAtAll} />
        </div>
      ) : (
        <VirtualList
          className="inbox-list"
          role="list"
          aria-label={t('nav.inbox')}
          data-testid="conversation-list"
          items={rows}
          rowHeight={ROW_HEIGHT}
          getKey={(r) => r.id}
          activeIndex={activeIndex}
          onEndReached={onEnd}
          render={(r) => <Row c={r} active={r.id === activeId} lang={i18n.language} now={now} />}
          footer={
            list.loadingMore ? (
              <div className="inbox-more" data-testid="inbox-loading-more">
                <Spin size="small" /> {t('console.loadingMore')}
              </div>
            ) : null
          }
        />
      )}
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

/**
 * What a row previews: the visitor's last message when they wait for an
 * answer (or when the last message is the bot's), else the last message.
 */
export function preview(c: Conversation): { body: string; author: string; at?: string } | null {
  const lv = c.last_visitor_message;
  const lm = c.last_message;
  if (lv && (c.waiting_since || !lm || lm.author_type === 'bot' || lm.author_type === 'system')) {
    return { body: lv.body, author: 'visitor', at: lv.created_at };
  }
  if (lm) return { body: lm.body, author: lm.author_type, at: lm.created_at };
  return null;
}

const Row = memo(function Row({ c, active, lang, now }: { c: Conversation; active: boolean; lang: string; now: number }) {
  const { t } = useTranslation();
  const unread = useUnread((s) => s.unseen[c.id]?.length ?? 0);
  const name = visitorName(c.visitor, (id) => t('inbox.visitor', { id }));
  const p = preview(c);
  const prefix = p?.author === 'agent' ? `${t('inbox.you')}: ` : '';
  const waiting = c.waiting_since && c.status !== 'resolved' ? waitText(c.waiting_since, now, lang) : '';
  const prio = c.priority && c.priority !== 'none' ? c.priority : null;
  return (
    <Link
      to={`/app/conversations/${c.id}`}
      className={`conv-row ${active ? 'active' : ''} ${unread ? 'unread' : ''}`}
      role="listitem"
      aria-current={active ? 'true' : undefined}
      data-testid="conversation-item"
      data-id={c.id}
      data-status={c.status}
      data-priority={c.priority ?? 'none'}
    >
      <Avatar style={{ background: colorFor(c.visitor?.id ?? c.id), flex: 'none' }}>{name.slice(0, 1).toUpperCase()}</Avatar>
      <div className="conv-row-body">
        <div className="conv-row-top">
          {prio ? <FlagFilled className={`prio prio-${prio}`} aria-label={t(`console.priority_${prio}`)} title={t(`console.priority_${prio}`)} data-testid="row-priority" /> : null}
          <span className="conv-row-name">{name}</span>
          <RowLabels labels={c.labels} />
          <span className="conv-row-time">{relativeTime(p?.at ?? c.updated_at, lang, now, t('time.now'))}</span>
        </div>
        <div className="conv-row-bottom">
          <span className="conv-row-preview" data-testid="conversation-preview">
            {p?.author === 'bot' ? <RobotOutlined style={{ marginRight: 4 }} /> : null}
            {p ? prefix + (p.body || t('inbox.attachment')) : t('inbox.noMessages')}
          </span>
          {unread ? <Badge count={unread} size="small" aria-label={t('inbox.unreadCount', { count: unread })} /> : null}
          {c.status !== 'assigned' ? <span className={`status-dot status-${c.status}`} title={t(`inbox.status_${c.status}`)} /> : null}
        </div>
        {waiting ? (
          <div className="conv-row-wait" data-testid="row-wait" title={t('console.waitingLabel', { time: waiting })}>
            {t('console.waiting', { time: waiting })}
          </div>
        ) : null}
      </div>
    </Link>
  );
});

export type { InboxFilter };
