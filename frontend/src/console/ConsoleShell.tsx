import { lazy, Suspense, useEffect, useState } from 'react';
import { Avatar, Badge, Button, Result, Tooltip } from 'antd';
import { MenuPopover } from '../components/MenuPopover';
import { DisconnectOutlined, KeyOutlined, LogoutOutlined, MessageOutlined, SettingOutlined, StopOutlined } from '@ant-design/icons';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, type PresenceStatus } from '../api';
import { FullPageSpin } from '../components/FullPageSpin';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { Logo } from '../components/Logo';
import { RealtimeBridge } from '../realtime/RealtimeBridge';
import { useAuth } from '../stores/auth';
import { usePresence } from '../stores/presence';
import { useRealtime } from '../stores/realtime';
import { useUnread } from '../stores/unread';
import { askNotificationPermission } from '../lib/notify';
import { colorFor } from '../lib/format';
import { PRESENCE_COLOR } from '../lib/presence';
import { useMe } from './useMe';
// The account dialogs (antd's modal and form) load when one is first opened,
// not with every page of the console.
const ChangePasswordModal = lazy(() => import('./AccountModals').then((m) => ({ default: m.ChangePasswordModal })));
const LogoutAllModal = lazy(() => import('./AccountModals').then((m) => ({ default: m.LogoutAllModal })));

/** The signed-in frame: the narrow nav, the WebSocket bridge and the page. */
export default function ConsoleShell() {
  const { t } = useTranslation();
  const me = useMe();
  const unread = useUnread((s) => Object.values(s.unseen).reduce((n, l) => n + l.length, 0));

  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${t('app.name')}` : t('app.name');
  }, [unread, t]);

  useEffect(() => {
    const once = () => askNotificationPermission();
    window.addEventListener('pointerdown', once, { once: true });
    return () => window.removeEventListener('pointerdown', once);
  }, []);

  if (me.isPending) return <FullPageSpin />;
  if (me.isError)
    return (
      <Result
        status="error"
        title={t('app.error')}
        subTitle={errorMessage(me.error, '')}
        extra={
          <Button type="primary" onClick={() => void me.refetch()}>
            {t('app.retry')}
          </Button>
        }
      />
    );

  return (
    <div className="shell" data-testid="console">
      <Nav unread={unread} name={me.data.user.name} userId={me.data.user.id} />
      <main className="shell-main">
        <Suspense fallback={<FullPageSpin />}>
          <Outlet />
        </Suspense>
      </main>
      <RealtimeBridge me={me.data.user} />
    </div>
  );
}

function Nav({ unread, name, userId }: { unread: number; name: string; userId: string }) {
  const { t } = useTranslation();
  const loc = useLocation();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const wanted = usePresence((s) => s.wanted);
  const confirmed = usePresence((s) => s.confirmed);
  const choose = usePresence((s) => s.choose);
  const status = useRealtime((s) => s.status);
  const inAdmin = loc.pathname.startsWith('/app/admin');
  const [dialog, setDialog] = useState<'password' | 'logout-all' | null>(null);

  function leave() {
    useRealtime.getState().client?.close();
    useAuth.getState().signOut();
    qc.clear();
    navigate('/login', { replace: true });
  }

  async function logout() {
    try {
      await api.logout();
    } catch {
      /* the token is dropped locally either way */
    }
    leave();
  }

  const shown: PresenceStatus = confirmed ?? wanted;
  const presenceItems = (['online', 'away', 'offline'] as const).map((s) => ({
    key: s,
    label: (
      <span data-testid={`presence-${s}`}>
        <Badge color={PRESENCE_COLOR[s]} /> {t(`nav.${s}`)}
      </span>
    ),
  }));
  const accountItems = [
    { type: 'divider' as const },
    { key: 'password', icon: <KeyOutlined />, label: <span data-testid="menu-change-password">{t('account.changePassword')}</span> },
    { key: 'logout-all', icon: <StopOutlined />, danger: true, label: <span data-testid="menu-logout-all">{t('account.logoutAll')}</span> },
  ];

  return (
    <nav className="nav" aria-label={t('nav.main')}>
      <Link to="/app" className="nav-logo" aria-label={t('app.name')}>
        <Logo size={30} />
      </Link>
      <Tooltip title={t('nav.inbox')} placement="right">
        <Link to="/app" className={`nav-item ${!inAdmin ? 'active' : ''}`} aria-label={t('nav.inbox')} data-testid="nav-inbox">
          <Badge count={unread} size="small" offset={[4, -2]}>
            <MessageOutlined />
          </Badge>
        </Link>
      </Tooltip>
      <Tooltip title={t('nav.admin')} placement="right">
        <Link to="/app/admin/widget" className={`nav-item ${inAdmin ? 'active' : ''}`} aria-label={t('nav.admin')} data-testid="nav-admin">
          <SettingOutlined />
        </Link>
      </Tooltip>
      <div className="nav-spacer" />
      {status === 'reconnecting' || status === 'connecting' ? (
        <Tooltip title={t(status === 'connecting' ? 'nav.connecting' : 'nav.reconnecting')} placement="right">
          <span className="nav-item nav-warn" role="status" data-testid="connection-status">
            <DisconnectOutlined />
          </span>
        </Tooltip>
      ) : null}
      <MenuPopover
        placement="topLeft"
        label={t('nav.presence')}
        items={[...presenceItems, ...accountItems]}
        selected={wanted}
        onSelect={(key) => {
          if (key === 'password' || key === 'logout-all') setDialog(key);
          else choose(key as PresenceStatus);
        }}
      >
        <button type="button" className="nav-item nav-presence" aria-label={`${t('nav.presence')}: ${t(`nav.${shown}`)}`} data-testid="presence-switch" data-status={shown}>
          <Badge dot color={PRESENCE_COLOR[shown]} offset={[-4, 26]}>
            <Avatar size={32} style={{ background: colorFor(userId) }}>
              {name.slice(0, 1).toUpperCase()}
            </Avatar>
          </Badge>
        </button>
      </MenuPopover>
      <div className="nav-item nav-lang">
        <LanguageSwitch compact />
      </div>
      <Tooltip title={t('auth.logout')} placement="right">
        <button type="button" className="nav-item" onClick={() => void logout()} aria-label={t('auth.logout')} data-testid="logout">
          <LogoutOutlined />
        </button>
      </Tooltip>
      {dialog ? (
        <Suspense fallback={null}>
          <ChangePasswordModal open={dialog === 'password'} onClose={() => setDialog(null)} />
          <LogoutAllModal open={dialog === 'logout-all'} onClose={() => setDialog(null)} onDone={leave} />
        </Suspense>
      ) : null}
    </nav>
  );
}
