import { Button, Space, Typography } from 'antd';
import { ApiOutlined, CustomerServiceOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, Navigate } from 'react-router';
import { Logo } from '../components/Logo';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useAuth } from '../stores/auth';

export default function Landing() {
  const { t } = useTranslation();
  const token = useAuth((s) => s.token);
  if (token) return <Navigate to="/app" replace />;
  const points = [
    { icon: <ThunderboltOutlined />, title: t('landing.point1Title'), text: t('landing.point1') },
    { icon: <CustomerServiceOutlined />, title: t('landing.point2Title'), text: t('landing.point2') },
    { icon: <ApiOutlined />, title: t('landing.point3Title'), text: t('landing.point3') },
  ];
  return (
    <div className="landing">
      <header className="landing-header">
        <Logo withName name={t('app.name')} />
        <Space>
          <LanguageSwitch />
          <Link to="/login">
            <Button type="text">{t('landing.login')}</Button>
          </Link>
        </Space>
      </header>
      <main className="landing-main">
        <Typography.Title level={1} className="landing-title">
          {t('landing.title')}
        </Typography.Title>
        <Typography.Paragraph className="landing-sub">{t('landing.subtitle')}</Typography.Paragraph>
        <Space size="middle" wrap>
          <Link to="/signup">
            <Button type="primary" size="large" data-testid="landing-signup">
              {t('landing.signup')}
            </Button>
          </Link>
          <Link to="/login">
            <Button size="large" data-testid="landing-login">
              {t('landing.login')}
            </Button>
          </Link>
        </Space>
        <div className="landing-points">
          {points.map((p) => (
            <div key={p.title} className="landing-point">
              <div className="landing-point-icon" aria-hidden>
                {p.icon}
              </div>
              <Typography.Title level={4}>{p.title}</Typography.Title>
              <Typography.Text type="secondary">{p.text}</Typography.Text>
            </div>
          ))}
        </div>
      </main>
    </div>
  );
}
