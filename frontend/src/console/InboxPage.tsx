import { lazy, Suspense, useEffect } from 'react';
import { Empty } from 'antd';
import { useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { keys } from '../realtime/keys';
import { useUi } from '../stores/ui';
import { FullPageSpin } from '../components/FullPageSpin';
import { InboxList } from './InboxList';
import { useMe } from './useMe';
import { ShortcutsHelp } from './Shortcuts';
import { useOnboarding } from '../admin/onboarding';

// The thread pane (thread, composer, visitor panel) is its own chunk: the
// inbox shows first, and the chunk is fetched while the browser is idle so
// opening a conversation does not wait for it.
const loadThread = () => import('./ThreadPane');
const ThreadPane = lazy(loadThread);
// The first-day checklist is for admins of a new workspace only: its own chunk.
const OnboardingCard = lazy(() => import('../admin/OnboardingCard').then((m) => ({ default: m.OnboardingCard })));
if (typeof window !== 'undefined') {
  const idle = (window as Window & { requestIdleCallback?: (cb: () => void) => void }).requestIdleCallback ?? ((cb: () => void) => setTimeout(cb, 200));
  idle(() => void loadThread());
}

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

  const admin = !!me.data?.permissions.includes('tenant:write');
  const onboarding = useOnboarding(!!admin && !id);
  const showOnboarding = !!onboarding.data && !onboarding.data.dismissed;

  if (!me.data) return <FullPageSpin />;
  return (
    <div className="console" data-has-conv={id ? 'true' : 'false'}>
      <ShortcutsHelp />
      <InboxList me={me.data.user} widgetKey={widgetKey} activeId={id} />
      {id ? (
        <Suspense fallback={<section className="thread" />}>
          <ThreadPane id={id} />
        </Suspense>
      ) : (
        <section className={showOnboarding ? 'thread thread-onboarding' : 'thread thread-empty'}>
          {showOnboarding ? (
            <Suspense fallback={null}>
              <OnboardingCard widgetKey={widgetKey} />
            </Suspense>
          ) : (
            <Empty description={t('inbox.selectConversation')} />
          )}
        </section>
      )}
    </div>
  );
}
