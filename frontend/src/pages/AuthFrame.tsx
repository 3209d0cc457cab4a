import type { ReactNode } from 'react';
import { Card, Typography } from 'antd';
import { Link } from 'react-router';
import { Logo } from '../components/Logo';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useTranslation } from 'react-i18next';

/** The centred card that signup and login share. */
export function AuthFrame({ title, subtitle, children, footer }: { title: string; subtitle?: string; children: ReactNode; footer: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="auth-page">
      <header className="landing-header">
        <Link to="/" aria-label={t('app.backHome')}>
          <Logo withName name={t('app.name')} />
        </Link>
        <LanguageSwitch />
      </header>
      <main className="auth-main">
        <Card className="auth-card">
          <Typography.Title level={2} style={{ marginTop: 0 }}>
            {title}
          </Typography.Title>
          {subtitle ? <Typography.Paragraph type="secondary">{subtitle}</Typography.Paragraph> : null}
          {children}
          <div className="auth-footer">{footer}</div>
        </Card>
      </main>
    </div>
  );
}
