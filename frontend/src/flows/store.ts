// The flow editor's store: the graph on the canvas, selection, the dirty
// flag, the server's validation errors, the simulated path, and undo/redo.
// State and actions are kept apart (`useFlowEditor(s => s.nodes)`,
// `useFlowActions()`); actions only compute the next state. Side effects
// (saving, warnings before leaving) live in the editor page, in
// subscriptions and event handlers.
import { create } from 'zustand';
import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange, type XYPosition } from '@xyflow/react';
import type { Flow, TraceStep } from '../api/types';
import { handleId, labelOfHandle, needsLayout, toApiGraph } from './convert';
import { layoutNodes } from './layout';
import { outputsOf, registry, specOf } from './registry';
import type { EditorEdge, EditorNode, FlowNodeType, NodeDataMap } from './types';

export interface Snapshot {
  nodes: EditorNode[];
  edges: EditorEdge[];
}

/** What the canvas highlights after a simulation. */
export interface TraceHighlight {
  steps: TraceStep[];
  nodes: string[];
  edges: string[];
}

export interface EditorState {
  /** The flow's id; null for a new flow not saved yet. */
  flowId: string | null;
  name: string;
  /** The flow as the server last answered (version, published version, …). */
  meta: Flow | null;
  /** Showing an older version: nothing can change. */
  readOnly: boolean;
  nodes: EditorNode[];
  edges: EditorEdge[];
  /** Whether the graph or name differ from what was loaded or last saved. */
  dirty: boolean;
  /** The server's validation messages, keyed by node id or "graph". */
  errors: Record<string, string>;
  trace: TraceHighlight | null;
  past: Snapshot[];
  future: Snapshot[];
  /** The graph as last loaded or saved (JSON), to tell whether it is dirty. */
  saved: string;
  /** The last data edit (node id and time), so typing makes one undo step, not one per key. */
  lastEdit: { id: string; at: number } | null;
}

export interface LoadInput {
  flowId: string | null;
  name: string;
  nodes: EditorNode[];
  edges: EditorEdge[];
  meta?: Flow | null;
  readOnly?: boolean;
}

export interface EditorActions {
  /** Replaces everything (a flow opened, a version viewed); forgets history. Lays out a graph with no positions. */
  load: (input: LoadInput) => void;
  onNodesChange: (changes: NodeChange<EditorNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<EditorEdge>[]) => void;
  /** Connects a source handle to a node; an edge already leaving by that handle is replaced. */
  connect: (c: Connection) => boolean;
  /** Adds a node of a type at a position and selects it; null when the type allows only one and it exists. */
  addNode: (type: FlowNodeType, position: XYPosition) => string | null;
  updateNodeData: <T extends FlowNodeType>(id: string, data: NodeDataMap[T]) => void;
  setName: (name: string) => void;
  /** Selects one node (null: none). */
  select: (id: string | null) => void;
  /** Deletes the selected nodes (never start) and edges, and the edges of deleted nodes. */
  deleteSelection: () => void;
  /** Records the graph as it is now as an undo step (before a drag). */
  checkpoint: () => void;
  undo: () => void;
  redo: () => void;
  autoLayout: () => void;
  setErrors: (errors: Record<string, string>) => void;
  setTrace: (steps: TraceStep[] | null) => void;
  /** The server stored the graph as it is now. */
  markSaved: (meta: Flow) => void;
  setMeta: (meta: Flow) => void;
}

export type EditorStore = EditorState & { actions: EditorActions };

const HISTORY = 100;
const COALESCE_MS = 1200;

const empty: EditorState = {
  flowId: null,
  name: '',
  meta: null,
  readOnly: false,
  nodes: [],
  edges: [],
  dirty: false,
  errors: {},
  trace: null,
  past: [],
  future: [],
  saved: '',
  lastEdit: null,
};

function graphKey(name: string, nodes: readonly EditorNode[], edges: readonly EditorEdge[]): string {
  return JSON.stringify([name, toApiGraph(nodes, edges)]);
}

function sameGraph(a: Snapshot, b: Snapshot): boolean {
  if (a.nodes.length !== b.nodes.length || a.edges.length !== b.edges.length) return false;
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i]!;
    const y = b.nodes[i]!;
    if (x.id !== y.id || x.data !== y.data || x.position.x !== y.position.x || x.position.y !== y.position.y) return false;
  }
  for (let i = 0; i < a.edges.length; i++) {
    const x = a.edges[i]!;
    const y = b.edges[i]!;
    if (x.id !== y.id || x.source !== y.source || x.target !== y.target || x.sourceHandle !== y.sourceHandle) return false;
  }
  return true;
}

/** A node id not used yet: "condition_1", "condition_2", … (fits the server's id pattern). */
export function newNodeId(type: FlowNodeType, nodes: readonly { id: string }[]): string {
  if (type === 'start' && !nodes.some((n) => n.id === 'start')) return 'start';
  const used = new Set(nodes.map((n) => n.id));
  for (let i = 1; ; i++) if (!used.has(`${type}_${i}`)) return `${type}_${i}`;
}

let edgeSeq = 0;
export function newEdgeId(edges: readonly { id: string }[]): string {
  const used = new Set(edges.map((e) => e.id));
  for (;;) {
    const id = `e${Date.now().toString(36)}${(edgeSeq++).toString(36)}`;
    if (!used.has(id)) return id;
  }
}

/** Whether a connection may be drawn: not to itself, not into start, from a handle the source has. */
export function canConnect(nodes: readonly EditorNode[], c: { source: string; target: string; sourceHandle?: string | null }): boolean {
  if (!c.source || !c.target || c.source === c.target) return false;
  const src = nodes.find((n) => n.id === c.source);
  const dst = nodes.find((n) => n.id === c.target);
  if (!src || !dst || !registry[dst.type].hasInput) return false;
  return outputsOf(src)
    .map(handleId)
    .includes(c.sourceHandle ?? '');
}

/** The nodes and edges a trace walked: edges between consecutive steps, by the branch taken. */
export function traceHighlight(steps: TraceStep[], edges: readonly EditorEdge[]): TraceHighlight {
  const walked = steps.filter((s) => s.node);
  const nodes = [...new Set(walked.map((s) => s.node))];
  const ids: string[] = [];
  for (let i = 0; i + 1 < walked.length; i++) {
    const a = walked[i]!;
    const b = walked[i + 1]!;
    const label = a.outcome === 'next' ? '' : a.outcome;
    const e =
      edges.find((x) => x.source === a.node && x.target === b.node && labelOfHandle(x.sourceHandle) === label) ?? edges.find((x) => x.source === a.node && x.target === b.node);
    if (e && !ids.includes(e.id)) ids.push(e.id);
  }
  return { steps, nodes, edges: ids };
}

/**
 * Keeps edges attached when a node's branches change (a switch case renamed,
 * added or removed): a branch renamed in place keeps its edge; edges of
 * branches that are gone are dropped.
 */
function remapEdges(edges: EditorEdge[], nodeId: string, before: string[], after: string[]): EditorEdge[] {
  if (before.length === after.length && before.every((l, i) => l === after[i])) return edges;
  const rename = new Map<string, string>();
  const added = after.filter((l) => !before.includes(l));
  const removed = before.filter((l) => !after.includes(l));
  if (added.length === 1 && removed.length === 1) rename.set(removed[0]!, added[0]!);
  let changed = false;
  const out: EditorEdge[] = [];
  for (const e of edges) {
    if (e.source !== nodeId) {
      out.push(e);
      continue;
    }
    const label = labelOfHandle(e.sourceHandle);
    if (after.includes(label)) out.push(e);
    else if (rename.has(label)) {
      const l = rename.get(label)!;
      out.push({ ...e, sourceHandle: handleId(l), label: l || undefined });
      changed = true;
    } else changed = true;
  }
  return changed ? out : edges;
}

export const useFlowEditor = create<EditorStore>()((set, get) => {
  /** Pushes the current graph onto the undo stack (unless it is the same as the last step). */
  function record(): Pick<EditorState, 'past' | 'future'> {
    const s = get();
    const now: Snapshot = { nodes: s.nodes, edges: s.edges };
    const last = s.past[s.past.length - 1];
    const past = last && sameGraph(last, now) ? s.past : [...s.past, now].slice(-HISTORY);
    return { past, future: [] };
  }

  /** The fields that follow a change of the graph. */
  function changed(nodes: EditorNode[], edges: EditorEdge[], name = get().name): Pick<EditorState, 'dirty' | 'trace'> {
    return { dirty: graphKey(name, nodes, edges) !== get().saved, trace: null };
  }

  const actions: EditorActions = {
    load: ({ flowId, name, nodes, edges, meta = null, readOnly = false }) => {
      const laid = needsLayout(nodes) ? layoutNodes(nodes, edges) : nodes;
      const ready = laid.map((n) => (n.type === 'start' ? { ...n, deletable: false } : n)) as EditorNode[];
      set({
        ...empty,
        flowId,
        name,
        meta,
        readOnly,
        nodes: ready,
        edges,
        // A graph laid out on load is saved as laid out: it counts as unchanged.
        saved: graphKey(name, ready, edges),
      });
    },

    onNodesChange: (changes) => {
      const s = get();
      const allowed = s.readOnly ? changes.filter((c) => c.type === 'select' || c.type === 'dimensions') : changes;
      if (allowed.length === 0) return;
      const structural = allowed.some((c) => c.type === 'remove' || c.type === 'add' || c.type === 'replace');
      const moved = allowed.some((c) => c.type === 'position' && c.position);
      const history = structural ? record() : {};
      const nodes = applyNodeChanges(allowed, s.nodes);
      let edges = s.edges;
      if (structural) {
        const ids = new Set(nodes.map((n) => n.id));
        edges = edges.filter((e) => ids.has(e.source) && ids.has(e.target));
      }
      if (structural || moved) {
        const dragging = allowed.some((c) => c.type === 'position' && c.dragging);
        set({ ...history, nodes, edges, ...(dragging ? { dirty: true, trace: s.trace } : changed(nodes, edges)) });
      } else set({ nodes });
    },

    onEdgesChange: (changes) => {
      const s = get();
      const allowed = s.readOnly ? changes.filter((c) => c.type === 'select') : changes;
      if (allowed.length === 0) return;
      const structural = allowed.some((c) => c.type !== 'select');
      const history = structural ? record() : {};
      const edges = applyEdgeChanges(allowed, s.edges);
      set(structural ? { ...history, edges, ...changed(s.nodes, edges) } : { edges });
    },

    connect: (c) => {
      const s = get();
      if (s.readOnly || !canConnect(s.nodes, c)) return false;
      const label = labelOfHandle(c.sourceHandle);
      const history = record();
      const kept = s.edges.filter((e) => !(e.source === c.source && (e.sourceHandle ?? '') === (c.sourceHandle ?? '')));
      const edge: EditorEdge = { id: newEdgeId(s.edges), source: c.source, target: c.target, sourceHandle: handleId(label) };
      if (label) edge.label = label;
      const edges = [...kept, edge];
      const errors = { ...s.errors };
      delete errors[c.source];
      set({ ...history, edges, errors, ...changed(s.nodes, edges) });
      return true;
    },

    addNode: (type, position) => {
      const s = get();
      const spec = registry[type];
      if (s.readOnly || (spec.single && s.nodes.some((n) => n.type === type))) return null;
      const id = newNodeId(type, s.nodes);
      const node = { id, type, position, data: spec.defaults(), selected: true, ...(type === 'start' ? { deletable: false } : {}) } as EditorNode;
      const history = record();
      const nodes = [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node];
      const edges = s.edges.some((e) => e.selected) ? s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)) : s.edges;
      set({ ...history, nodes, edges, lastEdit: null, ...changed(nodes, edges) });
      return id;
    },

    updateNodeData: (id, data) => {
      const s = get();
      const node = s.nodes.find((n) => n.id === id);
      if (s.readOnly || !node) return;
      const now = Date.now();
      const coalesce = s.lastEdit && s.lastEdit.id === id && now - s.lastEdit.at < COALESCE_MS;
      const history = coalesce ? {} : record();
      const next = { ...node, data } as EditorNode;
      const nodes = s.nodes.map((n) => (n.id === id ? next : n));
      const edges = remapEdges(s.edges, id, outputsOf(node), outputsOf(next));
      const errors = { ...s.errors };
      delete errors[id];
      set({ ...history, nodes, edges, errors, lastEdit: { id, at: now }, ...changed(nodes, edges) });
    },

    setName: (name) => {
      const s = get();
      if (s.readOnly) return;
      set({ name, dirty: graphKey(name, s.nodes, s.edges) !== s.saved });
    },

    select: (id) => {
      const s = get();
      set({
        nodes: s.nodes.map((n) => ((n.id === id) === !!n.selected ? n : { ...n, selected: n.id === id })),
        edges: s.edges.some((e) => e.selected) ? s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)) : s.edges,
      });
    },

    deleteSelection: () => {
      const s = get();
      if (s.readOnly) return;
      const gone = new Set(s.nodes.filter((n) => n.selected && !specOf(n.type).single).map((n) => n.id));
      const edgesGone = s.edges.filter((e) => e.selected || gone.has(e.source) || gone.has(e.target));
      if (gone.size === 0 && edgesGone.length === 0) return;
      const history = record();
      const nodes = s.nodes.filter((n) => !gone.has(n.id));
      const edges = s.edges.filter((e) => !edgesGone.includes(e));
      const errors = { ...s.errors };
      for (const id of gone) delete errors[id];
      set({ ...history, nodes, edges, errors, lastEdit: null, ...changed(nodes, edges) });
    },

    checkpoint: () => {
      if (get().readOnly) return;
      set({ ...record(), lastEdit: null });
    },

    undo: () => {
      const s = get();
      const prev = s.past[s.past.length - 1];
      if (s.readOnly || !prev) return;
      set({
        nodes: prev.nodes,
        edges: prev.edges,
        past: s.past.slice(0, -1),
        future: [{ nodes: s.nodes, edges: s.edges }, ...s.future].slice(0, HISTORY),
        lastEdit: null,
        ...changed(prev.nodes, prev.edges),
      });
    },

    redo: () => {
      const s = get();
      const next = s.future[0];
      if (s.readOnly || !next) return;
      set({
        nodes: next.nodes,
        edges: next.edges,
        past: [...s.past, { nodes: s.nodes, edges: s.edges }].slice(-HISTORY),
        future: s.future.slice(1),
        lastEdit: null,
        ...changed(next.nodes, next.edges),
      });
    },

    autoLayout: () => {
      const s = get();
      if (s.readOnly || s.nodes.length === 0) return;
      const history = record();
      const nodes = layoutNodes(s.nodes, s.edges);
      set({ ...history, nodes, lastEdit: null, ...changed(nodes, s.edges), trace: s.trace });
    },

    setErrors: (errors) => set({ errors }),

    setTrace: (steps) => set({ trace: steps ? traceHighlight(steps, get().edges) : null }),

    markSaved: (meta) => {
      const s = get();
      set({ meta, flowId: meta.id, name: meta.name, dirty: false, errors: {}, saved: graphKey(meta.name, s.nodes, s.edges) });
    },

    setMeta: (meta) => set({ meta }),
  };

  return { ...empty, actions };
});

/** The editor's actions (a stable object). */
export function useFlowActions(): EditorActions {
  return useFlowEditor((s) => s.actions);
}

/** The selected nodes' ids. */
export function selectedNodeIds(s: EditorState): string[] {
  return s.nodes.filter((n) => n.selected).map((n) => n.id);
}
