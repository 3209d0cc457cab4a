import { useMemo, useState } from 'react';
import { Alert, Button, Card, Form, Space, Switch, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api, errorMessage, type BusinessHours } from '../api';
import { HoursForm } from '../flows/HoursForm';
import type { HoursData } from '../flows/types';
import { keys } from '../realtime/keys';
import { useToast } from '../components/Toast';

/** When the hours open next, in the admin's own time. */
function when(iso: string, lang: string): string {
  const d = new Date(iso);
  return d.toLocaleString(lang.startsWith('zh') ? 'zh-CN' : 'en', {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
}

/** A field the server named ("schedule.mon[0]", "holidays[2]", "timezone"), in words. */
function fieldName(key: string, t: (k: string) => string): string {
  const m = /^schedule\.(mon|tue|wed|thu|fri|sat|sun)(?:\[(\d+)\])?$/.exec(key);
  if (m) return m[2] ? `${t(`flows.hours.day.${m[1]}`)} #${Number(m[2]) + 1}` : t(`flows.hours.day.${m[1]}`);
  const hol = /^holidays(?:\[(\d+)\])?$/.exec(key);
  if (hol) return hol[1] ? `${t('flows.hours.holidays')} #${Number(hol[1]) + 1}` : t('flows.hours.holidays');
  if (key === 'timezone') return t('flows.hours.timezone');
  return t('flows.hours.week');
}

/**
 * /app/admin/business-hours: the workspace's opening hours (the widget shows
 * them and offers its offline form outside them; a flow's business-hours
 * node left empty follows them), and whether replies reach visitors who
 * left by e-mail.
 */
// The form's starting point: the saved hours, or (never set) nine to six on
// weekdays in the browser's time zone.
function formFromServer(h: BusinessHours | undefined): { data: HoursData; enabled: boolean } {
  if (!h) return { data: { timezone: 'UTC', schedule: {}, holidays: [] }, enabled: true };
  if (h.configured) return { data: { timezone: h.timezone, schedule: h.schedule, holidays: h.holidays }, enabled: h.enabled };
  const day = (): [string, string][] => [['09:00', '18:00']];
  return {
    data: {
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
      schedule: { mon: day(), tue: day(), wed: day(), thu: day(), fri: day() },
      holidays: [],
    },
    enabled: true,
  };
}

export default function BusinessHoursPage() {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const qc = useQueryClient();
  const hours = useQuery({
    queryKey: keys.businessHours,
    queryFn: api.businessHours.get,
  });
  // The form shows the server's hours until the admin edits them; a refetch
  // (window focus, another tab's save) never overwrites edits not yet saved.
  const [draft, setDraft] = useState<{ data: HoursData; enabled: boolean } | null>(null);
  const server = useMemo(() => formFromServer(hours.data), [hours.data]);
  const data = draft?.data ?? server.data;
  const enabled = draft?.enabled ?? server.enabled;
  const setData = (next: HoursData) => setDraft({ data: next, enabled });
  const setEnabled = (next: boolean) => setDraft({ data, enabled: next });
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<[string, string][]>([]);

  async function save() {
    setBusy(true);
    setProblems([]);
    try {
      const saved = await api.businessHours.put({
        enabled,
        timezone: data.timezone,
        schedule: data.schedule,
        holidays: data.holidays,
      });
      qc.setQueryData<BusinessHours>(keys.businessHours, saved);
      setDraft(null);
      toast.success(t('hoursPage.saved'));
    } catch (err) {
      if (err instanceof ApiError && err.fields && Object.keys(err.fields).length) setProblems(Object.entries(err.fields));
      else toast.error(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  const h = hours.data;
  return (
    <div className="admin-page" data-testid="hours-page">
      <Typography.Title level={3}>{t('hoursPage.title')}</Typography.Title>
      <Typography.Paragraph type="secondary">{t('hoursPage.intro')}</Typography.Paragraph>
      {h ? (
        <Alert
          style={{ marginBottom: 16 }}
          type={h.email_configured ? 'success' : 'warning'}
          showIcon
          data-testid={h.email_configured ? 'hours-email-on' : 'hours-email-off'}
          message={h.email_configured ? t('hoursPage.emailOn') : t('hoursPage.emailOff')}
          description={h.email_configured ? undefined : t('hoursPage.emailOffHelp')}
        />
      ) : null}
      <Card loading={hours.isLoading}>
        <Space direction="vertical" size={12} style={{ width: '100%' }}>
          <Space wrap>
            <Switch checked={enabled} onChange={setEnabled} data-testid="hours-enabled" aria-label={t('hoursPage.enabled')} />
            <span>{t('hoursPage.enabled')}</span>
            {h?.configured && h.enabled ? (
              h.open_now ? (
                <Tag color="green" data-testid="hours-status">
                  {t('hoursPage.openNow')}
                </Tag>
              ) : (
                <Tag data-testid="hours-status">
                  {h.next_open_at
                    ? t('hoursPage.opensAt', {
                        when: when(h.next_open_at, i18n.language),
                      })
                    : t('hoursPage.closedNow')}
                </Tag>
              )
            ) : (
              <Tag data-testid="hours-status">{h?.configured ? t('hoursPage.off') : t('hoursPage.notSet')}</Tag>
            )}
          </Space>
          <Typography.Text type="secondary">{t('hoursPage.enabledHelp')}</Typography.Text>
          <Form layout="vertical" component="div">
            <HoursForm id="tenant-hours" data={data} onChange={setData} readOnly={false} />
          </Form>
          {problems.length ? (
            <Alert
              type="error"
              showIcon
              data-testid="hours-errors"
              message={t('hoursPage.invalid')}
              description={
                <ul style={{ margin: 0, paddingInlineStart: 18 }}>
                  {problems.map(([k, v]) => (
                    <li key={k}>
                      {fieldName(k, (x) => t(x as never))}: {v}
                    </li>
                  ))}
                </ul>
              }
            />
          ) : null}
          <Button type="primary" loading={busy} onClick={() => void save()} data-testid="hours-save">
            {t('hoursPage.save')}
          </Button>
        </Space>
      </Card>
    </div>
  );
}
