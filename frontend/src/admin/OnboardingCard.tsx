import { Button, Card, Progress, Typography } from 'antd';
import { CheckCircleFilled, CloseOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { stepLink, useOnboarding } from './onboarding';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import { keys } from '../realtime/keys';

/**
 * The first-day checklist: progress, each step with a link to where it is
 * done, ticked from the workspace's data. `always` shows it even when put
 * away (the settings page), with a way to bring it back.
 */
export function OnboardingCard({ widgetKey, always = false }: { widgetKey?: string; always?: boolean }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const q = useOnboarding();
  const dismiss = useMutation({
    mutationFn: api.onboarding.setDismissed,
    onSuccess: (data) => qc.setQueryData(keys.onboarding, data),
  });
  const data = q.data;
  if (!data || (!always && data.dismissed)) return null;
  const percent = Math.round((100 * data.done) / Math.max(1, data.total));
  return (
    <Card
      className="onboarding-card"
      data-testid="onboarding-card"
      title={t('onboarding.title')}
      extra={
        data.dismissed ? (
          <Button size="small" onClick={() => dismiss.mutate(false)} loading={dismiss.isPending} data-testid="onboarding-restore">
            {t('onboarding.restore')}
          </Button>
        ) : (
          <Button
            size="small"
            type="text"
            icon={<CloseOutlined />}
            onClick={() => dismiss.mutate(true)}
            loading={dismiss.isPending}
            aria-label={t('onboarding.dismiss')}
            title={t('onboarding.dismiss')}
            data-testid="onboarding-dismiss"
          />
        )
      }
    >
      <Typography.Paragraph type="secondary" style={{ marginTop: 0 }}>
        {data.done === data.total ? t('onboarding.allDone') : t('onboarding.progress', { done: data.done, total: data.total })}
      </Typography.Paragraph>
      <Progress percent={percent} showInfo={false} data-testid="onboarding-progress" aria-label={t('onboarding.progress', { done: data.done, total: data.total })} />
      <ol className="onboarding-steps">
        {data.steps.map((s) => {
          const link = stepLink(s.id, widgetKey);
          const label = t(`onboarding.step.${s.id}`);
          return (
            <li key={s.id} data-testid={`onboarding-step-${s.id}`} data-done={s.done ? 'true' : 'false'}>
              {s.done ? <CheckCircleFilled className="onboarding-done" aria-label={t('onboarding.done')} /> : <span className="onboarding-todo" aria-hidden />}
              <div>
                {link.external ? (
                  <a href={link.to} target="_blank" rel="noopener noreferrer" className={s.done ? 'onboarding-label-done' : undefined}>
                    {label}
                  </a>
                ) : (
                  <Link to={link.to} className={s.done ? 'onboarding-label-done' : undefined}>
                    {label}
                  </Link>
                )}
                <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
                  {t(`onboarding.hint.${s.id}`)}
                </Typography.Paragraph>
              </div>
            </li>
          );
        })}
      </ol>
    </Card>
  );
}

/** /app/admin/onboarding: the checklist, shown even when put away. */
export default function OnboardingPage() {
  const q = useQuery({ queryKey: keys.tenant, queryFn: api.tenant.get, staleTime: 60_000 });
  return (
    <div className="admin-page" data-testid="onboarding-page">
      <OnboardingCard widgetKey={q.data?.widget_key} always />
    </div>
  );
}
