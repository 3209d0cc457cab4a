// The simulate panel: a sample visitor and event, run against the graph as it
// is on the canvas (saved or not); the trace is listed here and its path
// highlighted on the canvas.
import { useState } from 'react';
import { Alert, Button, Checkbox, Empty, Input, Select, Tag, Tooltip, Typography } from 'antd';
import { CaretRightOutlined, DownOutlined, ExperimentOutlined, UpOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { api, ApiError, errorMessage, type FlowEvent, type SimulateRequest, type SimulateResult, type TraceStep } from '../api';
import { readJSON, writeStorage } from '../stores/storage';
import { toApiGraph } from './convert';
import { branchLabel, isNodeType, registry } from './registry';
import { useFlowActions, useFlowEditor } from './store';

const KEY = 'kefu:flow-simulate';

interface Sample {
  event: FlowEvent;
  name: string;
  email: string;
  language: string;
  country: string;
  page_url: string;
  returning: boolean;
  attributes: string;
  message: string;
  at: string;
}

const DEFAULT_SAMPLE: Sample = {
  event: 'conversation.created',
  name: 'Li Wei',
  email: 'li.wei@example.com',
  language: 'zh-CN',
  country: 'CN',
  page_url: 'https://shop.example.com/cart',
  returning: false,
  attributes: '{\n  "plan": "pro"\n}',
  message: '你好，我想退货',
  at: '',
};

/** Parses the attributes field: a JSON object, or an error message key. */
export function parseAttributes(text: string): { ok: true; value: Record<string, unknown> } | { ok: false } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return { ok: true, value: v as Record<string, unknown> };
  } catch {
    /* falls through */
  }
  return { ok: false };
}

export function SimulatePanel({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  const { t } = useTranslation();
  const flowId = useFlowEditor((s) => s.flowId);
  const trace = useFlowEditor((s) => s.trace);
  const nodes = useFlowEditor((s) => s.nodes);
  const actions = useFlowActions();
  const [sample, setSample] = useState<Sample>(() => ({ ...DEFAULT_SAMPLE, ...readJSON<Partial<Sample>>(KEY, {}) }));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SimulateResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const attrs = parseAttributes(sample.attributes);
  const put = <K extends keyof Sample>(k: K, v: Sample[K]) => setSample((s) => ({ ...s, [k]: v }));

  async function run() {
    if (!attrs.ok) return;
    const s = useFlowEditor.getState();
    setBusy(true);
    setError(null);
    writeStorage(KEY, JSON.stringify(sample));
    const at = sample.at ? new Date(sample.at) : null;
    const body: SimulateRequest = {
      event: sample.event,
      visitor: {
        name: sample.name,
        email: sample.email,
        language: sample.language,
        country: sample.country,
        page_url: sample.page_url,
        returning: sample.returning,
        attributes: attrs.value,
      },
      graph: toApiGraph(s.nodes, s.edges),
    };
    if (sample.message.trim()) body.message = { text: sample.message };
    if (at && !Number.isNaN(at.getTime())) body.at = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      // The graph on the canvas runs instead of a saved version; a new flow
      // not saved yet runs under the tenant's default flow, which always exists.
      const res = await api.flows.simulate(s.flowId ?? 'default', body);
      setResult(res.result);
      actions.setTrace(res.trace);
    } catch (err) {
      setResult(null);
      actions.setTrace(null);
      if (err instanceof ApiError && err.code === 'invalid_flow') {
        actions.setErrors(err.fields);
        setError(t('flows.simulate.invalid'));
      } else setError(errorMessage(err, t('app.error')));
    } finally {
      setBusy(false);
    }
  }

  const nodeType = (id: string) => nodes.find((n) => n.id === id)?.type;

  return (
    <section className={`flow-sim ${open ? 'open' : ''}`} aria-label={t('flows.simulate.title')} data-testid="simulate-panel">
      <div className="flow-sim-bar">
        <button type="button" className="flow-sim-toggle" onClick={onToggle} aria-expanded={open} data-testid="simulate-toggle">
          <ExperimentOutlined /> {t('flows.simulate.title')} {open ? <DownOutlined /> : <UpOutlined />}
        </button>
        {!open && trace ? <span className="muted">{t('flows.simulate.steps', { n: trace.steps.length })}</span> : null}
        <div style={{ flex: 1 }} />
        <Button
          type="primary"
          size="small"
          icon={<CaretRightOutlined />}
          loading={busy}
          disabled={!attrs.ok}
          onClick={() => (open ? void run() : (onToggle(), void run()))}
          data-testid="simulate-run"
        >
          {t('flows.simulate.run')}
        </Button>
      </div>
      {open ? (
        <div className="flow-sim-body">
          <div className="flow-sim-form">
            <label className="flow-sim-field">
              <span>{t('flows.simulate.event')}</span>
              <Select<FlowEvent>
                size="small"
                value={sample.event}
                onChange={(v) => put('event', v)}
                options={[
                  { value: 'conversation.created', label: t('flows.simulate.eventCreated') },
                  { value: 'message.created', label: t('flows.simulate.eventMessage') },
                ]}
                data-testid="simulate-event"
              />
            </label>
            <label className="flow-sim-field">
              <span>{t('flows.simulate.message')}</span>
              <Input size="small" value={sample.message} onChange={(e) => put('message', e.target.value)} data-testid="simulate-message" />
            </label>
            <label className="flow-sim-field">
              <span>{t('flows.simulate.name')}</span>
              <Input size="small" value={sample.name} onChange={(e) => put('name', e.target.value)} data-testid="simulate-name" />
            </label>
            <label className="flow-sim-field">
              <span>{t('flows.simulate.email')}</span>
              <Input size="small" value={sample.email} onChange={(e) => put('email', e.target.value)} />
            </label>
            <label className="flow-sim-field">
              <span>{t('flows.simulate.language')}</span>
              <Input size="small" value={sample.language} onChange={(e) => put('language', e.target.value)} placeholder="zh-CN" />
            </label>
            <label className="flow-sim-field">
              <span>{t('flows.simulate.country')}</span>
              <Input size="small" value={sample.country} onChange={(e) => put('country', e.target.value)} placeholder="CN" />
            </label>
            <label className="flow-sim-field flow-sim-wide">
              <span>{t('flows.simulate.pageUrl')}</span>
              <Input size="small" value={sample.page_url} onChange={(e) => put('page_url', e.target.value)} />
            </label>
            <label className="flow-sim-field">
              <span>{t('flows.simulate.at')}</span>
              <Input size="small" type="datetime-local" value={sample.at} onChange={(e) => put('at', e.target.value)} />
            </label>
            <Checkbox checked={sample.returning} onChange={(e) => put('returning', e.target.checked)} className="flow-sim-check">
              {t('flows.simulate.returning')}
            </Checkbox>
            <label className="flow-sim-field flow-sim-attrs">
              <span>{t('flows.simulate.attributes')}</span>
              <Input.TextArea
                className="flow-expr"
                value={sample.attributes}
                onChange={(e) => put('attributes', e.target.value)}
                autoSize={{ minRows: 3, maxRows: 6 }}
                spellCheck={false}
                status={attrs.ok ? undefined : 'error'}
                data-testid="simulate-attributes"
              />
              {!attrs.ok ? <span className="flow-field-error">{t('flows.simulate.attributesInvalid')}</span> : null}
            </label>
          </div>
          <div className="flow-sim-out" data-testid="simulate-result">
            {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 8 }} /> : null}
            {!trace && !error ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('flows.simulate.empty')} /> : null}
            {trace && result ? (
              <>
                <ResultLine result={result} />
                <ol className="flow-trace" data-testid="trace">
                  {trace.steps.map((s, i) => (
                    <TraceLine key={i} step={s} type={nodeType(s.node)} onPick={() => actions.select(s.node)} />
                  ))}
                </ol>
              </>
            ) : null}
            {flowId === null ? <p className="muted">{t('flows.simulate.unsavedNote')}</p> : null}
          </div>
        </div>
      ) : null}
    </section>
  );
}

function ResultLine({ result }: { result: SimulateResult }) {
  const { t } = useTranslation();
  const action =
    result.action === 'assign'
      ? t('flows.simulate.assigned', { name: result.agent_name || result.agent_id || '?' })
      : result.action === 'queue'
        ? result.waiting
          ? t('flows.simulate.queuedAt', { node: result.waiting })
          : t('flows.simulate.queued')
        : t('flows.simulate.ended');
  return (
    <div className="flow-sim-result" data-testid="simulate-action" data-action={result.action}>
      <Tag color={result.action === 'assign' ? 'green' : result.action === 'queue' ? 'gold' : 'default'}>{t(`flows.simulate.action.${result.action}`)}</Tag>
      <span>{action}</span>
      {result.replies.length ? (
        <div className="flow-sim-replies">
          {result.replies.map((r, i) => (
            <div key={i} className="flow-sim-reply">
              {t('flows.simulate.reply')}: {r}
            </div>
          ))}
        </div>
      ) : null}
      {result.tags?.length ? (
        <div>
          {t('flows.simulate.tags')}:{' '}
          {result.tags.map((x) => (
            <Tag key={x}>{x}</Tag>
          ))}
        </div>
      ) : null}
      {result.set && Object.keys(result.set).length ? (
        <div className="flow-mono" style={{ fontSize: 12 }}>
          {Object.entries(result.set)
            .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
            .join(' · ')}
        </div>
      ) : null}
    </div>
  );
}

function TraceLine({ step, type, onPick }: { step: TraceStep; type: string | undefined; onPick: () => void }) {
  const { t } = useTranslation();
  if (!step.node)
    return (
      <li className="flow-trace-note" data-testid="trace-step" data-node="">
        <Typography.Text type="secondary">{step.detail}</Typography.Text>
      </li>
    );
  const kind = type && isNodeType(type) ? registry[type] : isNodeType(step.type) ? registry[step.type] : null;
  const Icon = kind?.icon;
  return (
    <li data-testid="trace-step" data-node={step.node} data-outcome={step.outcome}>
      <Tooltip title={t('flows.simulate.pick')}>
        <button type="button" className="flow-trace-node" onClick={onPick} style={{ ['--node-color' as string]: kind?.color ?? '#8c8c8c' }}>
          {Icon ? <Icon /> : null} <span className="flow-mono">{step.node}</span>
        </button>
      </Tooltip>
      <Tag className="flow-trace-outcome">{branchLabel(t, step.outcome === 'next' ? '' : step.outcome)}</Tag>
      {step.detail ? <span className="flow-trace-detail">{step.detail}</span> : null}
    </li>
  );
}
