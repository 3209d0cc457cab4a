import { useEffect } from 'react';
import { Empty } from 'antd';
import { useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { keys } from '../realtime/keys';
import { useUi } from '../stores/ui';
import { FullPageSpin } from '../components/FullPageSpin';
import { InboxList } from './InboxList';
import { Thread } from './Thread';
import { VisitorPanel } from './VisitorPanel';
import { useMe } from './useMe';
import { useConversation } from './useThread';
import { ShortcutsHelp } from './Shortcuts';

/** /app and /app/conversations/:id — inbox, thread and visitor panes (one at a time on a phone). */
export default function InboxPage() {
  const { id } = useParams();
  const me = useMe();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const setOpen = useUi((s) => s.setOpenConversation);
  const tenant = useQuery({ queryKey: keys.tenant, queryFn: api.tenant.get, staleTime: 5 * 60_000, retry: false });
  const widgetKey = tenant.data?.widget_key ?? me.data?.tenant.widget_key;

  useEffect(() => {
    setOpen(id ?? null);
    return () => setOpen(null);
  }, [id, setOpen]);

  // Alt+↓ / Alt+↑ walk the inbox.
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (!e.altKey || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
      const ids = useUi.getState().visibleIds;
      if (ids.length === 0) return;
      e.preventDefault();
      const i = id ? ids.indexOf(id) : -1;
      const next = e.key === 'ArrowDown' ? Math.min(ids.length - 1, i + 1) : Math.max(0, i - 1);
      if (ids[next] && ids[next] !== id) navigate(`/app/conversations/${ids[next]}`);
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [id, navigate]);

  if (!me.data) return <FullPageSpin />;
  return (
    <div className="console" data-has-conv={id ? 'true' : 'false'}>
      <ShortcutsHelp />
      <InboxList me={me.data.user} widgetKey={widgetKey} activeId={id} />
      {id ? (
        <ThreadWithPanel key={id} id={id} />
      ) : (
        <section className="thread thread-empty">
          <Empty description={t('inbox.selectConversation')} />
        </section>
      )}
    </div>
  );
}

function ThreadWithPanel({ id }: { id: string }) {
  const me = useMe();
  const conv = useConversation(id);
  if (!me.data) return null;
  return (
    <>
      <Thread id={id} me={me.data.user} />
      <VisitorPanel c={conv.data} />
    </>
  );
}
