// The business-hours node's form: a time zone, a weekly table of opening
// intervals and a list of holidays.
import { useMemo } from 'react';
import { Button, Input, Select, Space, Switch, Tooltip, Typography } from 'antd';
import { CloseOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Field, type InspectorProps } from './inspectors';
import { WEEKDAYS, type Schedule, type Span, type Weekday } from './types';

const FALLBACK_ZONES = [
  'UTC',
  'Asia/Shanghai',
  'Asia/Hong_Kong',
  'Asia/Taipei',
  'Asia/Singapore',
  'Asia/Tokyo',
  'Asia/Seoul',
  'Asia/Kolkata',
  'Asia/Dubai',
  'Europe/London',
  'Europe/Berlin',
  'Europe/Paris',
  'Europe/Moscow',
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'Australia/Sydney',
];

function timeZones(current: string): string[] {
  let zones: string[] = FALLBACK_ZONES;
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    if (typeof intl.supportedValuesOf === 'function') zones = ['UTC', ...intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
  } catch {
    /* older engines: the short list */
  }
  return current && !zones.includes(current) ? [current, ...zones] : zones;
}

const WEEKDAY_SPANS: Span[] = [['09:00', '18:00']];
const ALL_DAY: Span[] = [['00:00', '24:00']];

export function HoursForm({ id, data, onChange, readOnly }: InspectorProps<'business_hours'>) {
  const { t } = useTranslation();
  const zones = useMemo(() => timeZones(data.timezone), [data.timezone]);
  const setSchedule = (schedule: Schedule) => onChange({ ...data, schedule });
  const setDay = (day: Weekday, spans: Span[]) => {
    const next: Schedule = { ...data.schedule };
    if (spans.length) next[day] = spans;
    else delete next[day];
    setSchedule(next);
  };
  const preset = (days: readonly Weekday[], spans: Span[]) => setSchedule(Object.fromEntries(days.map((d) => [d, spans])) as Schedule);

  return (
    <>
      <Field label={t('flows.hours.timezone')} htmlFor={`${id}-tz`}>
        <Select
          id={`${id}-tz`}
          showSearch
          value={data.timezone || 'UTC'}
          disabled={readOnly}
          options={zones.map((z) => ({ value: z, label: z }))}
          onChange={(timezone: string) => onChange({ ...data, timezone })}
          data-testid="hours-timezone"
        />
      </Field>
      <Field label={t('flows.hours.week')}>
        <Space size={4} wrap style={{ marginBottom: 8 }}>
          <Button size="small" disabled={readOnly} onClick={() => preset(WEEKDAYS.slice(0, 5), WEEKDAY_SPANS)}>
            {t('flows.hours.presetWeekdays')}
          </Button>
          <Button size="small" disabled={readOnly} onClick={() => preset(WEEKDAYS, ALL_DAY)}>
            {t('flows.hours.preset247')}
          </Button>
        </Space>
        <table className="flow-hours" data-testid="hours-table">
          <tbody>
            {WEEKDAYS.map((day) => {
              const spans = data.schedule[day] ?? [];
              const open = spans.length > 0;
              return (
                <tr key={day}>
                  <th scope="row">{t(`flows.hours.day.${day}`)}</th>
                  <td className="flow-hours-toggle">
                    <Switch
                      size="small"
                      checked={open}
                      disabled={readOnly}
                      aria-label={t('flows.hours.openOn', { day: t(`flows.hours.day.${day}`) })}
                      onChange={(on) => setDay(day, on ? WEEKDAY_SPANS : [])}
                    />
                  </td>
                  <td>
                    {open ? (
                      spans.map((s, i) => (
                        <div key={i} className="flow-span">
                          <Input
                            size="small"
                            value={s[0]}
                            readOnly={readOnly}
                            aria-label={t('flows.hours.from')}
                            placeholder="09:00"
                            maxLength={5}
                            onChange={(e) =>
                              setDay(
                                day,
                                spans.map((x, j) => (j === i ? [e.target.value, x[1]] : x)),
                              )
                            }
                          />
                          <span className="muted">–</span>
                          <Input
                            size="small"
                            value={s[1]}
                            readOnly={readOnly}
                            aria-label={t('flows.hours.to')}
                            placeholder="18:00"
                            maxLength={5}
                            onChange={(e) =>
                              setDay(
                                day,
                                spans.map((x, j) => (j === i ? [x[0], e.target.value] : x)),
                              )
                            }
                          />
                          <Tooltip title={t('flows.hours.removeSpan')}>
                            <Button
                              size="small"
                              type="text"
                              icon={<CloseOutlined />}
                              disabled={readOnly}
                              aria-label={t('flows.hours.removeSpan')}
                              onClick={() =>
                                setDay(
                                  day,
                                  spans.filter((_, j) => j !== i),
                                )
                              }
                            />
                          </Tooltip>
                        </div>
                      ))
                    ) : (
                      <Typography.Text type="secondary">{t('flows.hours.closed')}</Typography.Text>
                    )}
                    {open && !readOnly ? (
                      <Button size="small" type="link" icon={<PlusOutlined />} style={{ padding: 0 }} onClick={() => setDay(day, [...spans, ['13:00', '17:00']])}>
                        {t('flows.hours.addSpan')}
                      </Button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Field>
      <Field label={t('flows.hours.holidays')} htmlFor={`${id}-holidays`} help={t('flows.hours.holidaysHint')}>
        <Select
          id={`${id}-holidays`}
          mode="tags"
          open={false}
          suffixIcon={null}
          tokenSeparators={[',', ' ']}
          value={data.holidays}
          disabled={readOnly}
          placeholder="2026-12-25"
          onChange={(holidays: string[]) => onChange({ ...data, holidays: [...new Set(holidays.map((h) => h.trim()))].sort() })}
        />
      </Field>
    </>
  );
}
