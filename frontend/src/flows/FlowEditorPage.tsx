// /app/admin/flows/:id — the flow editor (its own lazy chunk with xyflow and
// dagre). Palette | canvas | inspector, the simulate panel below, and Save
// draft · Publish · Versions · Replay in the header. "new" is a flow not saved
// yet: its first save creates it.
import { useCallback, useEffect, useEffectEvent, useState } from 'react';
import { useTeamNames } from './useTeamNames';
import { Alert, Badge, Button, Input, Modal, Popconfirm, Result, Space, Tag, Tooltip } from 'antd';
import { ArrowLeftOutlined, CloudUploadOutlined, HistoryOutlined, NodeIndexOutlined, RedoOutlined, SaveOutlined, SwapOutlined, UndoOutlined } from '@ant-design/icons';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './flows.css';
import { api, ApiError, errorMessage, type Flow, type ReplayReport } from '../api';
import { FullPageSpin } from '../components/FullPageSpin';
import { useToast } from '../components/Toast';
import { Canvas } from './Canvas';
import { fromApiGraph, handleId, toApiGraph } from './convert';
import { Inspector } from './Inspector';
import { flowKeys } from './keys';
import { Palette } from './Palette';
import { ReplayModal } from './ReplayModal';
import { SimulatePanel } from './SimulatePanel';
import { useFlowActions, useFlowEditor } from './store';
import { VersionsDrawer } from './VersionsDrawer';
import type { EditorEdge, EditorNode, FlowNodeType } from './types';

/** A new flow: start → queue. */
export function skeleton(): { nodes: EditorNode[]; edges: EditorEdge[] } {
  return {
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: {} },
      { id: 'queue', type: 'queue', position: { x: 0, y: 160 }, data: { timeout_seconds: 0 } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'queue', sourceHandle: handleId('') }],
  };
}

export default function FlowEditorPage() {
  useTeamNames(); // node summaries name teams
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}

function Editor() {
  const { t } = useTranslation();
  const { id = 'new' } = useParams();
  const [params, setParams] = useSearchParams();
  const version = Number(params.get('version')) || undefined;
  const isNew = id === 'new';
  const actions = useFlowActions();
  const query = useQuery({
    queryKey: flowKeys.flow(id, version),
    queryFn: () => api.flows.get(id, version),
    enabled: !isNew,
    // The store holds the graph being edited: fetch on opening (never from an
    // old cache entry), and never again behind the user's back.
    staleTime: Infinity,
    gcTime: 0,
    refetchOnReconnect: false,
  });
  const [ready, setReady] = useState(false);
  const storeFlowId = useFlowEditor((s) => s.flowId);

  // Puts the flow into the editor's store. An effect event: it reads t and
  // ready as they are now, and switching language must not reload the graph.
  const loadIntoEditor = useEffectEvent((f: typeof query.data) => {
    if (isNew) {
      actions.load({ flowId: null, name: t('flows.untitled'), ...skeleton() });
      setReady(true);
      return;
    }
    if (!f) return;
    // Just saved here (a new flow getting its id): the canvas already shows this version.
    const cur = useFlowEditor.getState();
    if (ready && cur.flowId === f.id && cur.meta?.version === f.version && !cur.readOnly) return;
    const g = fromApiGraph(f.graph);
    actions.load({ flowId: f.id, name: f.name, nodes: g.nodes, edges: g.edges, meta: f, readOnly: f.version !== f.latest_version });
    setReady(true);
  });
  // Loading the editor's store (outside React) is what this effect is for;
  // `ready` then lets the canvas render what the store now holds.
  // eslint-disable-next-line react-hooks/set-state-in-effect
  useEffect(() => loadIntoEditor(query.data), [isNew, query.data, actions]);

  if (!isNew && query.isError)
    return (
      <Result
        status={query.error instanceof ApiError && query.error.status === 404 ? '404' : 'error'}
        title={errorMessage(query.error, t('app.error'))}
        extra={
          <Link to="/app/admin/flows">
            <Button>{t('flows.backToList')}</Button>
          </Link>
        }
      />
    );
  if (!ready || (!isNew && !query.data && storeFlowId !== id)) return <FullPageSpin />;
  return <Workspace setVersion={(v) => setParams(v ? { version: String(v) } : {})} />;
}

function Workspace({ setVersion }: { setVersion: (v: number | undefined) => void }) {
  const { t } = useTranslation();
  const toast = useToast();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [modal, modalHolder] = Modal.useModal();
  const actions = useFlowActions();
  const flowId = useFlowEditor((s) => s.flowId);
  const name = useFlowEditor((s) => s.name);
  const meta = useFlowEditor((s) => s.meta);
  const dirty = useFlowEditor((s) => s.dirty);
  const readOnly = useFlowEditor((s) => s.readOnly);
  const errors = useFlowEditor((s) => s.errors);
  const nodeIds = useFlowEditor((s) => s.nodes.map((n) => n.id).join('\n'));
  const canUndo = useFlowEditor((s) => s.past.length > 0);
  const canRedo = useFlowEditor((s) => s.future.length > 0);
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [versionsOpen, setVersionsOpen] = useState(false);
  const [simOpen, setSimOpen] = useState(false);
  const [replay, setReplay] = useState<{ open: boolean; loading: boolean; report: ReplayReport | null; error: string | null }>({
    open: false,
    loading: false,
    report: null,
    error: null,
  });
  const { screenToFlowPosition, fitView } = useReactFlow();

  useEditorKeys();
  useLeaveGuard();

  // Errors the canvas cannot pin on a node: "graph", or keys of nodes that are gone.
  const ids = new Set(nodeIds.split('\n'));
  const loose = Object.entries(errors).filter(([k]) => !ids.has(k));
  const onNodes = Object.keys(errors).filter((k) => ids.has(k)).length;

  const addAtCenter = useCallback(
    (type: FlowNodeType) => {
      const el = document.querySelector('.flow-canvas');
      const r = el?.getBoundingClientRect();
      const n = useFlowEditor.getState().nodes.length;
      const p = r ? screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 }) : { x: 0, y: 0 };
      actions.addNode(type, { x: Math.round(p.x - 100 + (n % 5) * 16), y: Math.round(p.y - 40 + (n % 5) * 16) });
    },
    [actions, screenToFlowPosition],
  );

  async function save(): Promise<Flow | null> {
    const s = useFlowEditor.getState();
    const body = { name: s.name.trim() || t('flows.untitled'), graph: toApiGraph(s.nodes, s.edges) };
    setSaving(true);
    try {
      const flow = s.flowId ? await api.flows.update(s.flowId, body) : await api.flows.create(body);
      actions.markSaved(flow);
      void qc.invalidateQueries({ queryKey: flowKeys.list });
      void qc.invalidateQueries({ queryKey: flowKeys.versions(flow.id) });
      toast.success(t('flows.savedVersion', { version: flow.version }));
      if (!s.flowId) {
        navigate(`/app/admin/flows/${encodeURIComponent(flow.id)}`, { replace: true });
      }
      return flow;
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'invalid_flow' || err.code === 'invalid_argument') && Object.keys(err.fields).length) {
        actions.setErrors(err.fields);
        const first = Object.keys(err.fields).find((k) => useFlowEditor.getState().nodes.some((n) => n.id === k));
        if (first) actions.select(first);
        toast.error(t('flows.invalid'));
      } else toast.error(errorMessage(err, t('app.error')));
      return null;
    } finally {
      setSaving(false);
    }
  }

  function applyPublished(f: Flow) {
    const cur = useFlowEditor.getState().meta;
    actions.setMeta(cur ? { ...cur, published_version: f.published_version, status: f.status, active: f.active, latest_version: f.latest_version, updated_at: f.updated_at } : f);
    void qc.invalidateQueries({ queryKey: flowKeys.list });
    if (f.id) void qc.invalidateQueries({ queryKey: flowKeys.versions(f.id) });
  }

  async function publish() {
    if (!flowId) return;
    setPublishing(true);
    try {
      const f = await api.flows.publish(flowId);
      applyPublished(f);
      toast.success(t('flows.published', { version: f.published_version ?? f.version }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_flow') actions.setErrors(err.fields);
      toast.error(errorMessage(err, t('app.error')));
    } finally {
      setPublishing(false);
    }
  }

  async function rollback(v: number) {
    if (!flowId) return;
    try {
      const f = await api.flows.rollback(flowId, v);
      applyPublished(f);
      toast.success(t('flows.published', { version: v }));
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  async function runReplay() {
    if (!flowId) return;
    setReplay({ open: true, loading: true, report: null, error: null });
    try {
      const report = await api.flows.replay(flowId, { limit: 100 });
      setReplay({ open: true, loading: false, report, error: null });
    } catch (err) {
      setReplay({ open: true, loading: false, report: null, error: errorMessage(err, t('app.error')) });
    }
  }

  /** Runs go() now, or after the user agrees to drop unsaved changes. */
  function leaveChanges(go: () => void) {
    if (!useFlowEditor.getState().dirty) return go();
    void modal.confirm({
      title: t('flows.discardTitle'),
      content: t('flows.discardBody'),
      okText: t('flows.discard'),
      cancelText: t('app.cancel'),
      okButtonProps: { danger: true },
      onOk: go,
    });
  }

  async function restoreVersion() {
    const s = useFlowEditor.getState();
    if (!s.flowId) return;
    try {
      const f = await api.flows.update(s.flowId, { name: s.name, graph: toApiGraph(s.nodes, s.edges) });
      toast.success(t('flows.restored', { from: s.meta?.version ?? '?', version: f.version }));
      void qc.invalidateQueries({ queryKey: flowKeys.list });
      void qc.invalidateQueries({ queryKey: flowKeys.versions(f.id) });
      setVersion(undefined);
    } catch (err) {
      toast.error(errorMessage(err, t('app.error')));
    }
  }

  const live = !!meta?.active && meta.published_version === meta.latest_version;
  const publishBlocked = !flowId ? t('flows.publishNew') : dirty ? t('flows.publishDirty') : readOnly ? t('flows.publishReadOnly') : live ? t('flows.publishLive') : null;

  return (
    <div className="flow-editor" data-testid="flow-editor" data-dirty={dirty ? 'true' : 'false'}>
      {modalHolder}
      <header className="flow-head">
        <Tooltip title={t('flows.backToList')}>
          <Button
            type="text"
            icon={<ArrowLeftOutlined />}
            aria-label={t('flows.backToList')}
            onClick={() => leaveChanges(() => navigate('/app/admin/flows'))}
            data-testid="flows-back"
          />
        </Tooltip>
        <Input
          className="flow-name"
          value={name}
          variant="borderless"
          readOnly={readOnly}
          maxLength={100}
          aria-label={t('flows.name')}
          onChange={(e) => actions.setName(e.target.value)}
          data-testid="flow-name"
        />
        <Space size={4} wrap className="flow-head-tags">
          {meta ? <Tag data-testid="flow-version">{t('flows.versionN', { version: meta.version })}</Tag> : <Tag>{t('flows.unsavedNew')}</Tag>}
          {meta ? (
            <Tag color={meta.status === 'published' ? 'green' : 'default'} data-testid="flow-status" data-status={meta.status}>
              {t(`flows.status.${meta.status}`)}
            </Tag>
          ) : null}
          {meta?.active ? <Badge status="processing" text={t('flows.active')} data-testid="flow-active" /> : null}
          {dirty ? (
            <span className="flow-dirty" data-testid="flow-dirty">
              {t('flows.unsaved')}
            </span>
          ) : null}
        </Space>
        <div className="flow-head-spacer" />
        <Space size={4} wrap className="flow-head-actions">
          <Tooltip title={`${t('flows.undo')} (Ctrl+Z)`}>
            <Button icon={<UndoOutlined />} disabled={!canUndo || readOnly} onClick={actions.undo} aria-label={t('flows.undo')} data-testid="undo" />
          </Tooltip>
          <Tooltip title={`${t('flows.redo')} (Ctrl+Shift+Z)`}>
            <Button icon={<RedoOutlined />} disabled={!canRedo || readOnly} onClick={actions.redo} aria-label={t('flows.redo')} data-testid="redo" />
          </Tooltip>
          <Tooltip title={t('flows.autoLayout')}>
            <Button
              icon={<NodeIndexOutlined />}
              disabled={readOnly}
              onClick={() => {
                actions.autoLayout();
                requestAnimationFrame(() => void fitView({ padding: 0.2, maxZoom: 1, duration: 200 }));
              }}
              aria-label={t('flows.autoLayout')}
              data-testid="auto-layout"
            />
          </Tooltip>
          <Button icon={<HistoryOutlined />} disabled={!flowId} onClick={() => setVersionsOpen(true)} data-testid="open-versions">
            {t('flows.versions.button')}
          </Button>
          <Tooltip title={t('flows.replay.tooltip')}>
            <Button icon={<SwapOutlined />} disabled={!flowId} onClick={() => void runReplay()} data-testid="replay">
              {t('flows.replay.button')}
            </Button>
          </Tooltip>
          <Button
            icon={<SaveOutlined />}
            type={dirty ? 'primary' : 'default'}
            loading={saving}
            disabled={readOnly || (!dirty && !!flowId)}
            onClick={() => void save()}
            data-testid="save-flow"
          >
            {t('flows.save')}
          </Button>
          <Tooltip title={publishBlocked}>
            <span>
              <Popconfirm
                title={t('flows.publishConfirm')}
                okText={t('flows.publish')}
                cancelText={t('app.cancel')}
                onConfirm={() => publish()}
                disabled={!!publishBlocked}
                okButtonProps={{ 'data-testid': 'publish-confirm' } as Record<string, string>}
              >
                <Button type="primary" ghost icon={<CloudUploadOutlined />} loading={publishing} disabled={!!publishBlocked} data-testid="publish-flow">
                  {t('flows.publish')}
                </Button>
              </Popconfirm>
            </span>
          </Tooltip>
        </Space>
      </header>
      {readOnly && meta ? (
        <Alert
          type="info"
          showIcon
          banner
          data-testid="readonly-banner"
          title={t('flows.readOnly', { version: meta.version, latest: meta.latest_version })}
          action={
            <Space size={4}>
              <Button size="small" onClick={() => setVersion(undefined)} data-testid="back-to-latest">
                {t('flows.backToLatest')}
              </Button>
              <Button size="small" type="primary" onClick={() => void restoreVersion()} data-testid="restore-version">
                {t('flows.restore')}
              </Button>
            </Space>
          }
        />
      ) : null}
      {loose.length || onNodes ? (
        <Alert
          type="error"
          showIcon
          banner
          data-testid="flow-errors"
          title={onNodes ? t('flows.errorsOnNodes', { n: onNodes }) : t('flows.invalid')}
          description={
            loose.length ? (
              <ul className="flow-problems">
                {loose.map(([k, v]) => (
                  <li key={k}>{k === 'graph' ? v : `${k}: ${v}`}</li>
                ))}
              </ul>
            ) : undefined
          }
        />
      ) : null}
      <div className="flow-body">
        <Palette onAdd={addAtCenter} />
        <Canvas />
        <Inspector />
      </div>
      <SimulatePanel open={simOpen} onToggle={() => setSimOpen((o) => !o)} />
      {flowId ? (
        <VersionsDrawer
          flowId={flowId}
          open={versionsOpen}
          onClose={() => setVersionsOpen(false)}
          current={meta?.version}
          latest={meta?.latest_version}
          onView={(v) =>
            leaveChanges(() => {
              setVersionsOpen(false);
              setVersion(v === meta?.latest_version ? undefined : v);
            })
          }
          onRollback={rollback}
        />
      ) : null}
      <ReplayModal {...replay} dirty={dirty} onClose={() => setReplay((r) => ({ ...r, open: false }))} />
    </div>
  );
}

/** Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo; Delete / Backspace delete the selection — outside text fields. */
function useEditorKeys() {
  const actions = useFlowActions();
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const el = e.target instanceof Element ? e.target : null;
      if (el?.closest('input, textarea, select, [contenteditable="true"], .ant-select, .ant-modal, .ant-drawer, .ant-popover')) return;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === 'z') {
        e.preventDefault();
        if (e.shiftKey) actions.redo();
        else actions.undo();
      } else if (mod && key === 'y') {
        e.preventDefault();
        actions.redo();
      } else if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
        e.preventDefault();
        actions.deleteSelection();
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [actions]);
}

/** While there are unsaved changes: a mark in the tab title and the browser's "leave page?" prompt. */
function useLeaveGuard() {
  const { t } = useTranslation();
  useEffect(() => {
    const base = document.title;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
    };
    const apply = (dirty: boolean, name: string) => {
      document.title = `${dirty ? '● ' : ''}${name || t('flows.untitled')} · ${t('app.name')}`;
      if (dirty) window.addEventListener('beforeunload', onBeforeUnload);
      else window.removeEventListener('beforeunload', onBeforeUnload);
    };
    const s0 = useFlowEditor.getState();
    apply(s0.dirty, s0.name);
    const unsubscribe = useFlowEditor.subscribe((s, prev) => {
      if (s.dirty !== prev.dirty || s.name !== prev.name) apply(s.dirty, s.name);
    });
    return () => {
      unsubscribe();
      window.removeEventListener('beforeunload', onBeforeUnload);
      document.title = base;
    };
  }, [t]);
}
