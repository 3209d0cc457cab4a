import { useEffect, useState } from 'react';
import { Alert, Button, Card, Select, Skeleton, Space, Typography } from 'antd';
import { useToast } from '../components/Toast';
import { ExportOutlined } from '@ant-design/icons';
import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';
import { CopyButton } from './CopyButton';

export function snippetFor(origin: string, key: string): string {
  return `<script src="${origin}/widget.js" data-key="${key}" async></script>`;
}

/** An origin is scheme://host[:port] with nothing after it. */
export function validOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s.replace(/\/$/, '');
  } catch {
    return false;
  }
}

export default function WidgetSettings() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const me = useMe();
  const tenant = useQuery({ queryKey: keys.tenant, queryFn: api.tenant.get, staleTime: 60_000 });
  const data = tenant.data;
  const key = data?.widget_key ?? '';
  const snippet = snippetFor(window.location.origin, key);
  const demo = `/demo?key=${encodeURIComponent(key)}`;

  return (
    <div className="admin-page" data-testid="widget-settings">
      <Typography.Title level={3}>{t('widgetPage.title')}</Typography.Title>
      {params.get('welcome') ? <Alert type="success" showIcon title={t('widgetPage.welcome')} style={{ marginBottom: 16 }} data-testid="welcome" /> : null}
      {tenant.isError ? <Alert type="error" showIcon title={errorMessage(tenant.error, t('app.error'))} /> : null}
      <Card>
        <Typography.Paragraph>{t('widgetPage.intro')}</Typography.Paragraph>
        {tenant.isPending ? (
          <Skeleton active paragraph={{ rows: 2 }} />
        ) : (
          <>
            <pre className="snippet" data-testid="widget-snippet" data-key={key} aria-label={t('widgetPage.snippet')}>
              {snippet}
            </pre>
            <Space wrap>
              <CopyButton text={snippet} label={t('widgetPage.copySnippet')} testId="copy-snippet" type="primary" />
              <a href={demo} target="_blank" rel="noopener" data-testid="demo-link">
                <Button icon={<ExportOutlined />}>{t('widgetPage.openDemo')}</Button>
              </a>
            </Space>
            <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
              {t('widgetPage.demoHint')}
            </Typography.Paragraph>
          </>
        )}
      </Card>
      {data ? (
        <Card style={{ marginTop: 16 }}>
          <dl className="facts">
            <dt>{t('widgetPage.workspace')}</dt>
            <dd>
              <Typography.Text code copyable data-testid="workspace-slug">
                {data.slug}
              </Typography.Text>
              <div className="muted">{t('widgetPage.workspaceHint')}</div>
            </dd>
            <dt>{t('widgetPage.widgetKey')}</dt>
            <dd>
              <Typography.Text code copyable data-testid="widget-key">
                {data.widget_key}
              </Typography.Text>
            </dd>
          </dl>
        </Card>
      ) : null}
      {data ? <AllowedOrigins initial={data.allowed_origins ?? []} canEdit={isAdmin(me.data?.user.role)} /> : null}
    </div>
  );
}

function AllowedOrigins({ initial, canEdit }: { initial: string[]; canEdit: boolean }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const [value, setValue] = useState<string[]>(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const initialKey = initial.join('\n');
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setValue(initial), [initialKey]);
  const bad = value.filter((o) => !validOrigin(o));
  const dirty = value.join('\n') !== initialKey;

  async function save() {
    setBusy(true);
    setError(null);
    try {
      const next = await api.tenant.update({ allowed_origins: value.map((o) => o.replace(/\/$/, '')) });
      qc.setQueryData(keys.tenant, next);
      message.success(t('app.saved'));
    } catch (err) {
      setError(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('widgetPage.originsTitle')} style={{ marginTop: 16 }}>
      <Typography.Paragraph type="secondary">{t('widgetPage.originsHint')}</Typography.Paragraph>
      {!canEdit ? <Alert type="info" title={t('admin.forbidden')} style={{ marginBottom: 12 }} /> : null}
      <Select
        mode="tags"
        style={{ width: '100%' }}
        value={value}
        onChange={(v: string[]) => setValue(v.map((s) => s.trim()).filter(Boolean))}
        tokenSeparators={[',', ' ']}
        placeholder={t('widgetPage.originsPlaceholder')}
        open={false}
        suffixIcon={null}
        disabled={!canEdit}
        status={bad.length ? 'error' : undefined}
        aria-label={t('widgetPage.originsTitle')}
        data-testid="allowed-origins"
      />
      {bad.length ? (
        <Typography.Text type="danger">
          {t('widgetPage.originInvalid')}: {bad.join(', ')}
        </Typography.Text>
      ) : null}
      {error ? <Alert type="error" showIcon title={error} style={{ marginTop: 12 }} /> : null}
      <div style={{ marginTop: 12 }}>
        <Button type="primary" onClick={() => void save()} loading={busy} disabled={!canEdit || !dirty || bad.length > 0} data-testid="save-origins">
          {t('app.save')}
        </Button>
      </div>
    </Card>
  );
}
