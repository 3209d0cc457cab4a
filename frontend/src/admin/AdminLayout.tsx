import { Suspense, useEffect, useState } from 'react';
import { adminStringsReady, loadAdminStrings } from '../i18n';
import { Menu } from 'antd';
import { FullPageSpin } from '../components/FullPageSpin';
import {
  ApartmentOutlined,
  ApiOutlined,
  AuditOutlined,
  BarChartOutlined,
  ClockCircleOutlined,
  CodeOutlined,
  FileTextOutlined,
  FlagOutlined,
  MessageOutlined,
  QuestionCircleOutlined,
  RobotOutlined,
  SafetyOutlined,
  SendOutlined,
  TeamOutlined,
  UsergroupAddOutlined,
} from '@ant-design/icons';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';

/** /app/admin/*: a settings menu beside the page (above it on a phone). */
export default function AdminLayout() {
  const { t, i18n } = useTranslation();
  const loc = useLocation();
  const navigate = useNavigate();
  const selected = loc.pathname.split('/')[3] ?? 'widget';
  // The settings pages' Chinese strings are their own chunk: the pages wait
  // for them rather than show English first.
  const [, setLoaded] = useState(0);
  useEffect(() => {
    let on = true;
    void loadAdminStrings().then(() => on && setLoaded((n) => n + 1));
    return () => {
      on = false;
    };
  }, [i18n.language]);
  if (!adminStringsReady()) return <FullPageSpin />;
  return (
    <div className="admin">
      <aside className="admin-menu">
        <div className="admin-menu-title">{t('admin.title')}</div>
        <Menu
          mode="inline"
          selectedKeys={[selected]}
          onClick={({ key }) => navigate(`/app/admin/${key}`)}
          items={[
            { key: 'onboarding', icon: <FlagOutlined />, label: <span data-testid="admin-onboarding">{t('admin.onboarding')}</span> },
            { key: 'widget', icon: <CodeOutlined />, label: <span data-testid="admin-widget">{t('admin.widget')}</span> },
            { key: 'business-hours', icon: <ClockCircleOutlined />, label: <span data-testid="admin-hours">{t('admin.hours')}</span> },
            { key: 'agents', icon: <TeamOutlined />, label: <span data-testid="admin-agents">{t('admin.agents')}</span> },
            { key: 'reports', icon: <BarChartOutlined />, label: <span data-testid="admin-reports">{t('admin.reports')}</span> },
            { key: 'roles', icon: <SafetyOutlined />, label: <span data-testid="admin-roles">{t('admin.roles')}</span> },
            { key: 'teams', icon: <UsergroupAddOutlined />, label: <span data-testid="admin-teams">{t('admin.teams')}</span> },
            { key: 'canned-replies', icon: <MessageOutlined />, label: <span data-testid="admin-canned">{t('admin.canned')}</span> },
            { key: 'flows', icon: <ApartmentOutlined />, label: <span data-testid="admin-flows">{t('admin.flows')}</span> },
            { key: 'faq', icon: <QuestionCircleOutlined />, label: <span data-testid="admin-faq">{t('admin.faq')}</span> },
            { key: 'articles', icon: <FileTextOutlined />, label: <span data-testid="admin-articles">{t('admin.articles')}</span> },
            { key: 'bots', icon: <RobotOutlined />, label: <span data-testid="admin-bots">{t('admin.bots')}</span> },
            { key: 'api-keys', icon: <ApiOutlined />, label: <span data-testid="admin-api-keys">{t('admin.apiKeys')}</span> },
            { key: 'webhooks', icon: <SendOutlined />, label: <span data-testid="admin-webhooks">{t('admin.webhooks')}</span> },
            { key: 'audit', icon: <AuditOutlined />, label: <span data-testid="admin-audit">{t('admin.audit')}</span> },
          ]}
        />
      </aside>
      <div className="admin-content">
        <Suspense fallback={<FullPageSpin />}>
          <Outlet />
        </Suspense>
      </div>
    </div>
  );
}
