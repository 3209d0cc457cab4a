import { useMemo, useState, type ReactNode } from 'react';
import { Alert, Button, Card, Col, DatePicker, Row, Space, Statistic, Table, Typography, type TableColumnsType } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import { api, errorMessage, type ReportDurations, type ReportGroup, type ReportQuery } from '../api';
import { useToast } from '../components/Toast';
import { useDarkMode } from '../App';
import { Chart, type ChartOption } from './Chart';

const DAY = 'YYYY-MM-DD';

/** Seconds as the shortest readable span: 45 s, 3.5 min, 2.1 h. */
function span(t: TFunction, secs: number | null | undefined): string {
  if (secs === null || secs === undefined) return '—';
  if (secs < 60) return t('reports.seconds', { n: Math.round(secs) });
  if (secs < 3600) return t('reports.minutes', { n: (secs / 60).toFixed(1) });
  return t('reports.hours', { n: (secs / 3600).toFixed(1) });
}

function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** /app/admin/reports: the week (or any range) at a glance, with CSV exports. */
export default function ReportsPage() {
  const { t } = useTranslation();
  const dark = useDarkMode();
  const message = useToast();
  const [range, setRange] = useState<[Dayjs, Dayjs]>(() => [dayjs().subtract(6, 'day'), dayjs()]);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const q: ReportQuery = {
    from: range[0].format(DAY),
    to: range[1].format(DAY),
    tz,
  };
  const overview = useQuery({
    queryKey: ['reports', 'overview', q],
    queryFn: () => api.reports.overview(q),
  });
  const heatmap = useQuery({
    queryKey: ['reports', 'heatmap', q],
    queryFn: () => api.reports.heatmap(q),
  });
  const agents = useQuery({
    queryKey: ['reports', 'agents', q],
    queryFn: () => api.reports.agents(q),
  });
  const teams = useQuery({
    queryKey: ['reports', 'teams', q],
    queryFn: () => api.reports.teams(q),
  });
  const o = overview.data;
  const weekdays = t('reports.weekdays').split(',');

  const perDay = useMemo<ChartOption>(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { data: [t('reports.opened'), t('reports.resolved')] },
      grid: { left: 40, right: 16, top: 40, bottom: 30 },
      xAxis: {
        type: 'category',
        data: o?.per_day.map((d) => d.date.slice(5)) ?? [],
      },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        {
          name: t('reports.opened'),
          type: 'line',
          smooth: true,
          data: o?.per_day.map((d) => d.conversations) ?? [],
        },
        {
          name: t('reports.resolved'),
          type: 'line',
          smooth: true,
          data: o?.per_day.map((d) => d.resolved) ?? [],
        },
      ],
    }),
    [o, t],
  );
  const heat = useMemo<ChartOption>(() => {
    const data: [number, number, number][] = [];
    heatmap.data?.cells.forEach((hours, wd) => hours.forEach((n, h) => data.push([h, wd, n])));
    return {
      tooltip: { position: 'top' },
      grid: { left: 50, right: 16, top: 10, bottom: 60 },
      xAxis: {
        type: 'category',
        data: Array.from({ length: 24 }, (_, h) => String(h)),
        splitArea: { show: true },
      },
      yAxis: { type: 'category', data: weekdays, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: Math.max(1, heatmap.data?.max ?? 1),
        calculable: true,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
      },
      series: [{ type: 'heatmap', data }],
    };
  }, [heatmap.data, weekdays]);
  const csat = useMemo<ChartOption>(
    () => ({
      grid: { left: 40, right: 16, top: 16, bottom: 30 },
      tooltip: {},
      xAxis: {
        type: 'category',
        data: ['1', '2', '3', '4', '5'].map((n) => t('reports.stars', { n })),
      },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', data: o?.csat?.distribution ?? [0, 0, 0, 0, 0] }],
    }),
    [o, t],
  );

  async function exportCsv(kind: 'overview' | 'agents' | 'teams' | 'heatmap') {
    try {
      save(await api.reports.csv(kind, q), `kefu-${kind}-${q.from}-${q.to}.csv`);
    } catch (err) {
      message.error(errorMessage(err, t('app.error')));
    }
  }

  const groupColumns: TableColumnsType<ReportGroup> = [
    { title: t('reports.name'), dataIndex: 'name' },
    {
      title: t('reports.opened'),
      dataIndex: 'conversations',
      align: 'right' as const,
    },
    {
      title: t('reports.resolved'),
      dataIndex: 'resolved',
      align: 'right' as const,
    },
    {
      title: t('reports.firstResponseMedian'),
      key: 'fr',
      align: 'right' as const,
      render: (_: unknown, g: ReportGroup) => span(t, g.first_response.median_seconds),
    },
    {
      title: t('reports.resolutionMedian'),
      key: 'rs',
      align: 'right' as const,
      render: (_: unknown, g: ReportGroup) => span(t, g.resolution.median_seconds),
    },
    {
      title: t('reports.csat'),
      key: 'csat',
      align: 'right' as const,
      render: (_: unknown, g: ReportGroup) => g.csat?.average?.toFixed(2) ?? '—',
    },
  ];
  const durations = (d: ReportDurations | undefined) => `${span(t, d?.median_seconds)} / ${span(t, d?.p90_seconds)}`;
  const error = overview.error ?? heatmap.error ?? agents.error ?? teams.error;

  return (
    <div className="admin-page" data-testid="reports-page">
      <div className="admin-page-head">
        <Typography.Title level={3} style={{ margin: 0 }}>
          {t('reports.title')}
        </Typography.Title>
        <Space wrap>
          <DatePicker.RangePicker
            value={range}
            allowClear={false}
            disabledDate={(d) => d.isAfter(dayjs(), 'day')}
            onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])}
            data-testid="report-range"
          />
          <Button icon={<DownloadOutlined />} onClick={() => void exportCsv('overview')} data-testid="report-csv">
            {t('reports.exportCsv')}
          </Button>
        </Space>
      </div>
      {error ? <Alert type="error" showIcon title={errorMessage(error, t('app.error'))} style={{ marginBottom: 16 }} /> : null}
      <Row gutter={[16, 16]}>
        <Stat title={t('reports.opened')} value={o?.conversations ?? '—'} testId="stat-opened" />
        <Stat title={t('reports.firstResponse')} value={durations(o?.first_response)} />
        <Stat title={t('reports.resolution')} value={durations(o?.resolution)} />
        <Stat
          title={t('reports.deflection')}
          value={o?.bot_deflection.rate === null || o === undefined ? '—' : `${Math.round((o.bot_deflection.rate ?? 0) * 100)}%`}
          suffix={
            o ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('reports.deflectionOf', {
                  n: o.bot_deflection.deflected,
                  of: o.bot_deflection.resolved,
                })}
              </Typography.Text>
            ) : null
          }
        />
        <Col xs={24} lg={16}>
          <Card size="small" title={t('reports.perDay')}>
            <Chart option={perDay} dark={dark} testId="chart-per-day" />
          </Card>
        </Col>
        <Col xs={24} lg={8}>
          <Card
            size="small"
            title={
              o?.csat?.average
                ? t('reports.csatAverage', {
                    n: o.csat.average.toFixed(2),
                    count: o.csat.count,
                  })
                : t('reports.csat')
            }
          >
            {o?.csat ? <Chart option={csat} dark={dark} testId="chart-csat" /> : <Typography.Text type="secondary">{t('reports.noCsat')}</Typography.Text>}
          </Card>
        </Col>
        <Col xs={24}>
          <Card size="small" title={t('reports.busiest')}>
            <Chart option={heat} height={320} dark={dark} testId="chart-heatmap" />
          </Card>
        </Col>
        <GroupCard title={t('reports.byAgent')} rows={agents} columns={groupColumns} onExport={() => void exportCsv('agents')} testId="report-agents" />
        <GroupCard title={t('reports.byTeam')} rows={teams} columns={groupColumns} onExport={() => void exportCsv('teams')} emptyText={t('reports.noTeams')} />
      </Row>
    </div>
  );
}

/** One figure of the period, a quarter of the row on wide screens, half on phones. */
function Stat({ title, value, suffix, testId }: { title: string; value: string | number; suffix?: ReactNode; testId?: string }) {
  return (
    <Col xs={12} md={6}>
      <Card size="small">
        <Statistic title={title} value={value} suffix={suffix} data-testid={testId} />
      </Card>
    </Col>
  );
}

/** A report's rows by agent or by team, in a card with its CSV export. */
function GroupCard({
  title,
  rows,
  columns,
  onExport,
  emptyText,
  testId,
}: {
  title: string;
  rows: UseQueryResult<ReportGroup[]>;
  columns: TableColumnsType<ReportGroup>;
  onExport: () => void;
  emptyText?: string;
  testId?: string;
}) {
  const { t } = useTranslation();
  return (
    <Col xs={24}>
      <Card
        size="small"
        title={title}
        extra={
          <Button size="small" icon={<DownloadOutlined />} onClick={onExport}>
            {t('reports.exportCsv')}
          </Button>
        }
      >
        <Table<ReportGroup>
          rowKey="id"
          size="small"
          pagination={false}
          scroll={{ x: 640 }}
          loading={rows.isPending}
          dataSource={rows.data ?? []}
          columns={columns}
          locale={emptyText ? { emptyText } : undefined}
          data-testid={testId}
        />
      </Card>
    </Col>
  );
}
