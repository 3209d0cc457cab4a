import { useState } from 'react';
import { Button, Empty, Segmented, Spin } from 'antd';
import { LockOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api, errorMessage, type SearchHit, type SearchType } from '../api';
import { relativeTime, visitorName } from '../lib/format';
import { keys } from '../realtime/keys';
import { useNow } from './useNow';

/** The snippet with each highlight marked; offsets count code points. */
export function Highlighted({ snippet, highlights }: { snippet: string; highlights: readonly (readonly number[])[] }) {
  const chars = Array.from(snippet);
  const out: React.ReactNode[] = [];
  let at = 0;
  for (const [start, end] of [...highlights].sort((a, b) => a[0] - b[0])) {
    if (start < at || end > chars.length || start >= end) continue;
    if (start > at) out.push(chars.slice(at, start).join(''));
    out.push(<mark key={start}>{chars.slice(start, end).join('')}</mark>);
    at = end;
  }
  if (at < chars.length) out.push(chars.slice(at).join(''));
  return <>{out}</>;
}

/** Server-side search results, in place of the inbox list while a query is typed. */
export default function SearchResults({ q, onClear }: { q: string; onClear: () => void }) {
  const { t, i18n } = useTranslation();
  const [type, setType] = useState<SearchType>('messages');
  const now = useNow(30_000);
  const res = useInfiniteQuery({
    queryKey: keys.search(q, type),
    queryFn: ({ pageParam }) => api.search(q, type, pageParam || undefined),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor || undefined,
    staleTime: 10_000,
    retry: false,
  });
  const hits = res.data?.pages.flatMap((p) => p.results) ?? [];
  const anon = (id: string) => t('inbox.visitor', { id });
  return (
    <div className="inbox-list search-results" data-testid="search-results" role="list" aria-label={t('console.searchHint')}>
      <div className="search-types">
        <Segmented
          size="small"
          block
          value={type}
          onChange={(v) => setType(v as SearchType)}
          options={[
            { value: 'messages', label: t('console.searchMessages') },
            { value: 'contacts', label: t('console.searchContacts') },
            { value: 'conversations', label: t('console.searchConversations') },
          ]}
          data-testid="search-type"
        />
      </div>
      {res.isPending ? (
        <div className="pane-center">
          <Spin /> <span className="muted">{t('console.searching')}</span>
        </div>
      ) : res.isError ? (
        <Empty description={errorMessage(res.error, t('app.error'))} />
      ) : hits.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('console.noResults', { q })}>
          <Button size="small" onClick={onClear}>
            {t('console.clearSearch')}
          </Button>
        </Empty>
      ) : (
        <>
          {hits.map((h, i) => (
            <Hit key={`${h.type}-${h.message?.id ?? h.visitor?.id ?? h.conversation_id ?? i}`} h={h} lang={i18n.language} anon={anon} now={now} />
          ))}
          {res.hasNextPage ? (
            <div className="inbox-more">
              <Button size="small" loading={res.isFetchingNextPage} onClick={() => void res.fetchNextPage()} data-testid="search-more">
                {t('inbox.loadMore')}
              </Button>
            </div>
          ) : null}
        </>
      )}
    </div>
  );
}

function Hit({ h, lang, anon, now }: { h: SearchHit; lang: string; anon: (id: string) => string; now: number }) {
  const { t } = useTranslation();
  const convId = h.conversation_id ?? h.conversation?.id;
  const title =
    h.type === 'message'
      ? h.message?.author.type === 'visitor'
        ? t('console.searchMessages')
        : (h.message?.author.name ?? t('inbox.bot'))
      : visitorName(h.visitor ?? h.conversation?.visitor, anon);
  const body = (
    <>
      <div className="conv-row-top">
        <span className="conv-row-name">
          {h.message?.private ? <LockOutlined aria-label={t('thread.privateNote')} /> : null} {title}
        </span>
        <span className="conv-row-time">{relativeTime(h.message?.created_at ?? h.conversation?.updated_at, lang, now, t('time.now'))}</span>
      </div>
      <div className="search-snippet" data-testid="search-snippet">
        <Highlighted snippet={h.snippet} highlights={h.highlights} />
      </div>
    </>
  );
  if (!convId) {
    return (
      <div className="search-hit" role="listitem" data-testid="search-hit">
        {body}
      </div>
    );
  }
  return (
    <Link to={`/app/conversations/${convId}`} className="search-hit" role="listitem" data-testid="search-hit" data-conversation={convId}>
      {body}
    </Link>
  );
}
