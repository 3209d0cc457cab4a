import { Button, Result } from 'antd';
import { useTranslation } from 'react-i18next';

export function RouteError({ error, onReset }: { error: unknown; onReset?: () => void }) {
  const { t } = useTranslation();
  const message = error instanceof Error ? error.message : String(error ?? '');
  return (
    <Result
      status="error"
      title={t('app.error')}
      subTitle={message}
      extra={[
        <Button key="retry" type="primary" onClick={() => window.location.reload()}>
          {t('app.retry')}
        </Button>,
        <Button
          key="home"
          onClick={() => {
            onReset?.();
            window.location.assign('/');
          }}
        >
          {t('app.backHome')}
        </Button>,
      ]}
    />
  );
}
