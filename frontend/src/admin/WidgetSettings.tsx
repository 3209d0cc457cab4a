import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Checkbox, Col, ColorPicker, Empty, Input, Popconfirm, Radio, Row, Select, Skeleton, Space, Switch, Table, Typography } from 'antd';
import { useToast } from '../components/Toast';
import { DeleteOutlined, ExportOutlined, PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api';
import { ApiError } from '../api/errors';
import type { PrechatField, PrechatFieldType, RefusedOrigin, WidgetSettings as Settings, WidgetSettingsAdmin } from '../api/types';
import { keys } from '../realtime/keys';
import { isAdmin, useMe } from '../console/useMe';
import { CopyButton } from './CopyButton';
import { registerWidgetStrings } from '../i18n/widgetSettings';

registerWidgetStrings();

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

/** What the settings form checks before it asks the server (which checks again). */
export function draftProblems(d: Settings & { allowed_origins?: string[] }): string[] {
  const out: string[] = [];
  if (d.color && !/^#[0-9a-f]{6}$/i.test(d.color)) out.push('color');
  if (d.avatar_url && !/^https:\/\/[^\s]+$/.test(d.avatar_url)) out.push('avatar_url');
  if ((d.greeting ?? '').length > 500) out.push('greeting');
  if ((d.launcher_text ?? '').length > 30) out.push('launcher_text');
  const fields = d.prechat?.fields ?? [];
  if (fields.length > 20) out.push('prechat.fields');
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    const key = f.type === 'custom' ? (f.key ?? '') : f.type;
    if (f.type === 'custom' && (!/^[a-z][a-z0-9_]{0,39}$/.test(key) || ['name', 'email', 'phone'].includes(key))) out.push(`prechat.fields[${i}].key`);
    if (f.type === 'custom' && !f.label?.trim()) out.push(`prechat.fields[${i}].label`);
    if (seen.has(key)) out.push(`prechat.fields[${i}].key`);
    seen.add(key);
  });
  (d.allowed_origins ?? []).forEach((o, i) => {
    if (!validOrigin(o)) out.push(`allowed_origins[${i}]`);
  });
  return out;
}

const SETTINGS_KEY = ['widget-settings'] as const;

export default function WidgetSettings() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const me = useMe();
  const admin = isAdmin(me.data?.user.role);
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
      {me.data && !admin ? <Alert type="info" showIcon title={t('widgetSettings.adminOnly')} style={{ marginTop: 16 }} data-testid="widget-admin-only" /> : null}
      {admin && data ? <SettingsEditor tenantName={data.name} /> : null}
    </div>
  );
}

function SettingsEditor({ tenantName }: { tenantName: string }) {
  const { t } = useTranslation();
  const message = useToast();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: SETTINGS_KEY, queryFn: api.widgetSettings.get });
  // The admin's edits not yet saved; without any, the form shows the saved settings.
  const [edits, setEdits] = useState<WidgetSettingsAdmin | null>(null);
  const draft = edits ?? q.data ?? null;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (q.isError) return <Alert type="error" showIcon title={errorMessage(q.error, t('app.error'))} style={{ marginTop: 16 }} />;
  if (!draft) return <Skeleton active style={{ marginTop: 16 }} />;

  const set = (patch: Partial<WidgetSettingsAdmin>) => setEdits({ ...draft, ...patch });
  const fields = draft.prechat?.fields ?? [];
  const setFields = (next: PrechatField[]) => set({ prechat: { enabled: draft.prechat?.enabled ?? false, fields: next } });
  const problems = draftProblems(draft);
  const bad = (k: string) => (problems.includes(k) ? ('error' as const) : undefined);
  const saved = q.data;
  const dirty = JSON.stringify(strip(draft)) !== JSON.stringify(saved ? strip(saved) : null);

  async function save() {
    if (!draft) return;
    setBusy(true);
    setError(null);
    try {
      const next = await api.widgetSettings.put(strip(draft));
      qc.setQueryData(SETTINGS_KEY, next);
      void qc.invalidateQueries({ queryKey: keys.tenant });
      setEdits(null);
      message.success(t('app.saved'));
    } catch (err) {
      const fieldText = err instanceof ApiError ? Object.values(err.fields).join('; ') : '';
      setError(errorMessage(err, t('app.error')) + (fieldText ? `: ${fieldText}` : ''));
    } finally {
      setBusy(false);
    }
  }

  async function rotate() {
    try {
      const r = await api.widgetSettings.rotateSecret();
      setEdits((d) => (d ? { ...d, identity_secret: r.identity_secret } : d));
      qc.setQueryData<WidgetSettingsAdmin>(SETTINGS_KEY, (old) => (old ? { ...old, identity_secret: r.identity_secret } : old));
      message.success(t('widgetSettings.rotated'));
    } catch (err) {
      setError(errorMessage(err, t('app.error')));
    }
  }

  function allow(origin: string) {
    if (!draft) return;
    if (!draft.allowed_origins.includes(origin)) set({ allowed_origins: [...draft.allowed_origins, origin] });
  }

  const typeLabel = (ty: PrechatFieldType) =>
    ty === 'name' ? t('widgetSettings.typeName') : ty === 'email' ? t('widgetSettings.typeEmail') : ty === 'phone' ? t('widgetSettings.typePhone') : t('widgetSettings.typeCustom');

  return (
    <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
      <Col xs={24} lg={12}>
        <Card title={t('widgetSettings.settingsTitle')}>
          <div className="settings-grid">
            <label htmlFor="ws-color">{t('widgetSettings.color')}</label>
            <Space>
              <ColorPicker
                value={draft.color || '#0958d9'}
                disabledAlpha
                onChange={(c) => set({ color: c.toHexString().slice(0, 7) })}
                aria-label={t('widgetSettings.color')}
                data-testid="ws-color-picker"
              />
              <Input
                id="ws-color"
                value={draft.color ?? ''}
                placeholder="#0958d9"
                onChange={(e) => set({ color: e.target.value.trim() })}
                status={bad('color')}
                style={{ width: 120 }}
                data-testid="ws-color"
              />
            </Space>
            <span>{t('widgetSettings.position')}</span>
            <Radio.Group
              value={draft.position || 'right'}
              onChange={(e) => set({ position: e.target.value as 'left' | 'right' })}
              optionType="button"
              options={[
                { value: 'right', label: t('widgetSettings.posRight') },
                { value: 'left', label: t('widgetSettings.posLeft') },
              ]}
              aria-label={t('widgetSettings.position')}
              data-testid="ws-position"
            />
            <label htmlFor="ws-greeting">{t('widgetSettings.greeting')}</label>
            <div>
              <Input.TextArea
                id="ws-greeting"
                value={draft.greeting ?? ''}
                maxLength={500}
                autoSize={{ minRows: 1, maxRows: 4 }}
                onChange={(e) => set({ greeting: e.target.value })}
                data-testid="ws-greeting"
              />
              <div className="muted">{t('widgetSettings.greetingHint')}</div>
            </div>
            <label htmlFor="ws-launcher">{t('widgetSettings.launcherText')}</label>
            <div>
              <Input id="ws-launcher" value={draft.launcher_text ?? ''} maxLength={30} onChange={(e) => set({ launcher_text: e.target.value })} data-testid="ws-launcher-text" />
              <div className="muted">{t('widgetSettings.launcherHint')}</div>
            </div>
            <label htmlFor="ws-avatar">{t('widgetSettings.avatar')}</label>
            <div>
              <Input
                id="ws-avatar"
                value={draft.avatar_url ?? ''}
                placeholder={t('widgetSettings.avatarPlaceholder')}
                onChange={(e) => set({ avatar_url: e.target.value.trim() })}
                status={bad('avatar_url')}
                data-testid="ws-avatar"
              />
              <div className="muted">{t('widgetSettings.avatarHint')}</div>
            </div>
            <label htmlFor="ws-language">{t('widgetSettings.language')}</label>
            <Select
              id="ws-language"
              value={draft.language ?? ''}
              onChange={(v: '' | 'en' | 'zh-CN') => set({ language: v })}
              options={[
                { value: '', label: t('widgetSettings.langAuto') },
                { value: 'en', label: t('widgetSettings.langEn') },
                { value: 'zh-CN', label: t('widgetSettings.langZh') },
              ]}
              style={{ width: 240 }}
              data-testid="ws-language"
            />
          </div>
        </Card>

        <Card title={t('widgetSettings.prechatTitle')} style={{ marginTop: 16 }} data-testid="ws-prechat">
          <Space direction="vertical" style={{ width: '100%' }}>
            <Space>
              <Switch
                checked={!!draft.prechat?.enabled}
                onChange={(on) =>
                  set({
                    prechat: {
                      enabled: on,
                      fields: fields.length
                        ? fields
                        : [
                            { type: 'name', required: true },
                            { type: 'email', required: true },
                          ],
                    },
                  })
                }
                aria-label={t('widgetSettings.prechatEnabled')}
                data-testid="ws-prechat-enabled"
              />
              <span>{t('widgetSettings.prechatEnabled')}</span>
            </Space>
            <Typography.Text type="secondary">{t('widgetSettings.prechatHint')}</Typography.Text>
            {fields.map((f, i) => (
              <div className="prechat-row" key={i} data-testid={`ws-field-${i}`}>
                <Select
                  value={f.type}
                  onChange={(ty: PrechatFieldType) => setFields(fields.map((x, j) => (j === i ? { ...x, type: ty, key: ty === 'custom' ? (x.key ?? '') : undefined } : x)))}
                  options={(['name', 'email', 'phone', 'custom'] as const).map((ty) => ({ value: ty, label: typeLabel(ty) }))}
                  style={{ width: 120 }}
                  aria-label={t('widgetSettings.fieldType')}
                  data-testid={`ws-field-${i}-type`}
                />
                <Input
                  value={f.label ?? ''}
                  placeholder={f.type === 'custom' ? t('widgetSettings.fieldLabel') : typeLabel(f.type)}
                  maxLength={60}
                  onChange={(e) => setFields(fields.map((x, j) => (j === i ? { ...x, label: e.target.value } : x)))}
                  status={bad(`prechat.fields[${i}].label`)}
                  aria-label={t('widgetSettings.fieldLabel')}
                  data-testid={`ws-field-${i}-label`}
                  style={{ flex: 1, minWidth: 120 }}
                />
                {f.type === 'custom' ? (
                  <Input
                    value={f.key ?? ''}
                    placeholder="order_no"
                    maxLength={40}
                    onChange={(e) => setFields(fields.map((x, j) => (j === i ? { ...x, key: e.target.value.trim() } : x)))}
                    status={bad(`prechat.fields[${i}].key`)}
                    aria-label={t('widgetSettings.fieldKey')}
                    data-testid={`ws-field-${i}-key`}
                    style={{ width: 130 }}
                  />
                ) : null}
                <Checkbox
                  checked={!!f.required}
                  onChange={(e) => setFields(fields.map((x, j) => (j === i ? { ...x, required: e.target.checked } : x)))}
                  data-testid={`ws-field-${i}-required`}
                >
                  {t('widgetSettings.fieldRequired')}
                </Checkbox>
                <Button
                  icon={<DeleteOutlined />}
                  aria-label={t('widgetSettings.removeField')}
                  title={t('widgetSettings.removeField')}
                  onClick={() => setFields(fields.filter((_, j) => j !== i))}
                />
              </div>
            ))}
            <Button
              icon={<PlusOutlined />}
              disabled={fields.length >= 20}
              onClick={() => setFields([...fields, { type: 'custom', key: '', label: '' }])}
              data-testid="ws-add-field"
            >
              {t('widgetSettings.addField')}
            </Button>
            {fields.length >= 20 ? <Typography.Text type="secondary">{t('widgetSettings.fieldsMax')}</Typography.Text> : null}
          </Space>
        </Card>

        <Card title={t('widgetSettings.identityTitle')} style={{ marginTop: 16 }} data-testid="ws-identity">
          <Typography.Paragraph type="secondary">{t('widgetSettings.identityHint')}</Typography.Paragraph>
          <pre className="snippet" translate="no" data-testid="ws-identity-howto">
            {'hash = hex(HMAC-SHA256(identity_secret, user_id))\nKefu.identify({ id: user_id, name, email, hash })'}
          </pre>
          <div className="settings-grid">
            <span>{t('widgetSettings.secret')}</span>
            <div>
              <Typography.Text code copyable data-testid="ws-identity-secret">
                {draft.identity_secret}
              </Typography.Text>
              <div className="muted">{t('widgetSettings.secretHint')}</div>
              <Popconfirm title={t('widgetSettings.rotateConfirm')} onConfirm={() => void rotate()} okText={t('widgetSettings.rotate')} cancelText={t('app.cancel')}>
                <Button icon={<ReloadOutlined />} style={{ marginTop: 8 }} data-testid="ws-rotate">
                  {t('widgetSettings.rotate')}
                </Button>
              </Popconfirm>
            </div>
            <span>{t('widgetSettings.requireIdentity')}</span>
            <div>
              <Switch
                checked={!!draft.require_identity}
                onChange={(on) => set({ require_identity: on })}
                aria-label={t('widgetSettings.requireIdentity')}
                data-testid="ws-require-identity"
              />
              <div className="muted">{t('widgetSettings.requireIdentityHint')}</div>
            </div>
          </div>
        </Card>

        <Card title={t('widgetPage.originsTitle')} style={{ marginTop: 16 }}>
          <Typography.Paragraph type="secondary">{t('widgetPage.originsHint')}</Typography.Paragraph>
          <Select
            mode="tags"
            style={{ width: '100%' }}
            value={draft.allowed_origins}
            onChange={(v: string[]) => set({ allowed_origins: v.map((s) => s.trim().replace(/\/$/, '')).filter(Boolean) })}
            tokenSeparators={[',', ' ']}
            placeholder={t('widgetPage.originsPlaceholder')}
            open={false}
            suffixIcon={null}
            status={draft.allowed_origins.some((o) => !validOrigin(o)) ? 'error' : undefined}
            aria-label={t('widgetPage.originsTitle')}
            data-testid="allowed-origins"
          />
          {draft.allowed_origins.some((o) => !validOrigin(o)) ? (
            <Typography.Text type="danger">
              {t('widgetPage.originInvalid')}: {draft.allowed_origins.filter((o) => !validOrigin(o)).join(', ')}
            </Typography.Text>
          ) : null}
          <Typography.Title level={5} style={{ marginTop: 16 }}>
            {t('widgetSettings.refusedTitle')}
          </Typography.Title>
          <Typography.Paragraph type="secondary">{t('widgetSettings.refusedHint')}</Typography.Paragraph>
          <RefusedList rows={draft.refused_origins} allowed={draft.allowed_origins} onAllow={allow} />
        </Card>

        {error ? <Alert type="error" showIcon title={error} style={{ marginTop: 16 }} data-testid="ws-error" /> : null}
        <div className="settings-save">
          <Button type="primary" size="large" onClick={() => void save()} loading={busy} disabled={!dirty || problems.length > 0} data-testid="ws-save">
            {t('widgetSettings.saveSettings')}
          </Button>
        </div>
      </Col>
      <Col xs={24} lg={12}>
        <Card title={t('widgetSettings.preview')} className="preview-card">
          <Typography.Paragraph type="secondary">{t('widgetSettings.previewHint')}</Typography.Paragraph>
          <WidgetPreview settings={strip(draft)} tenantName={tenantName} />
        </Card>
      </Col>
    </Row>
  );
}

/** The settings without what only the admin view has. */
function strip(d: WidgetSettingsAdmin): Settings & { allowed_origins: string[] } {
  const { identity_secret: _s, refused_origins: _r, ...rest } = d;
  void _s;
  void _r;
  return rest;
}

function RefusedList({ rows, allowed, onAllow }: { rows: RefusedOrigin[]; allowed: string[]; onAllow: (o: string) => void }) {
  const { t, i18n } = useTranslation();
  if (!rows.length) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('widgetSettings.refusedEmpty')} data-testid="ws-refused-empty" />;
  return (
    <Table
      size="small"
      rowKey="origin"
      pagination={false}
      dataSource={rows}
      data-testid="ws-refused"
      scroll={{ x: true }}
      columns={[
        { title: t('widgetPage.originsTitle'), dataIndex: 'origin', render: (o: string) => <Typography.Text code>{o}</Typography.Text> },
        { title: t('widgetSettings.hits'), dataIndex: 'hits', width: 90 },
        { title: t('widgetSettings.lastAt'), dataIndex: 'last_at', render: (at: string) => new Date(at).toLocaleString(i18n.language) },
        {
          title: '',
          key: 'allow',
          render: (_: unknown, r: RefusedOrigin) =>
            validOrigin(r.origin) && !allowed.includes(r.origin) ? (
              <Button size="small" onClick={() => onAllow(r.origin)} data-testid={`ws-allow-${r.origin}`}>
                {t('widgetSettings.allowOrigin')}
              </Button>
            ) : null,
        },
      ]}
    />
  );
}

/**
 * The real widget (its own code, loaded on demand) in preview mode, drawn
 * with the unsaved settings inside a box that holds its fixed-position
 * launcher and panel; built again a moment after each change.
 */
function WidgetPreview({ settings, tenantName }: { settings: Settings; tenantName: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const { i18n } = useTranslation();
  const key = JSON.stringify(settings);
  useEffect(() => {
    let widget: { destroy(): void } | null = null;
    let cancelled = false;
    const timer = setTimeout(() => {
      void import('../../widget/widget').then(({ KefuWidget }) => {
        if (cancelled || !ref.current) return;
        const s = JSON.parse(key) as Settings;
        const w = new KefuWidget({
          key: 'preview',
          origin: window.location.origin,
          lang: i18n.language,
          mount: ref.current,
          settings: s,
          preview: true,
          config: { tenant_name: tenantName, agents_online: 1, settings: s },
        });
        widget = w;
        void w.start();
        w.open();
      });
    }, 150);
    return () => {
      cancelled = true;
      clearTimeout(timer);
      widget?.destroy();
    };
  }, [key, tenantName, i18n.language]);
  return <div ref={ref} className="widget-preview" data-testid="widget-preview" />;
}
