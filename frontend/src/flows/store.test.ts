import { beforeEach, describe, expect, it } from 'vitest';
import { handleId, toApiGraph } from './convert';
import { canConnect, traceHighlight, useFlowEditor } from './store';
import type { EditorEdge, EditorNode } from './types';

const s = () => useFlowEditor.getState();
const a = () => s().actions;

function base(): { nodes: EditorNode[]; edges: EditorEdge[] } {
  return {
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: {} },
      { id: 'cond', type: 'condition', position: { x: 0, y: 120 }, data: { expr: 'visitor.returning' } },
      { id: 'queue', type: 'queue', position: { x: 0, y: 240 }, data: { timeout_seconds: 0 } },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'cond', sourceHandle: handleId('') },
      { id: 'e2', source: 'cond', target: 'queue', sourceHandle: handleId('false'), label: 'false' },
    ],
  };
}

beforeEach(() => a().load({ flowId: 'f1', name: 'Test', ...base() }));

describe('flow editor store', () => {
  it('loads clean, with start protected from deletion', () => {
    expect(s().dirty).toBe(false);
    expect(s().nodes.find((n) => n.id === 'start')?.deletable).toBe(false);
    expect(s().past).toEqual([]);
  });

  it('adds a node with its type’s defaults and a fresh id, selected; only one start', () => {
    const id = a().addNode('condition', { x: 10, y: 20 });
    expect(id).toBe('condition_1');
    const n = s().nodes.find((x) => x.id === id)!;
    expect(n).toMatchObject({ type: 'condition', data: { expr: '' }, position: { x: 10, y: 20 }, selected: true });
    expect(a().addNode('condition', { x: 0, y: 0 })).toBe('condition_2');
    expect(a().addNode('start', { x: 0, y: 0 })).toBeNull();
    expect(s().dirty).toBe(true);
  });

  it('undoes and redoes adding, editing and connecting; undo back to the start is clean again', () => {
    const id = a().addNode('assign', { x: 0, y: 400 })!;
    a().updateNodeData(id, { strategy: 'skills', team: '', skills: ['vip'], timeout_seconds: 0 });
    // Typing more into the same node soon after is the same undo step.
    a().updateNodeData(id, { strategy: 'skills', team: 'gold', skills: ['vip'], timeout_seconds: 0 });
    expect(a().connect({ source: 'cond', sourceHandle: handleId('true'), target: id, targetHandle: null })).toBe(true);
    expect(s().edges).toHaveLength(3);

    a().undo(); // the connection
    expect(s().edges).toHaveLength(2);
    a().undo(); // both edits
    expect(s().nodes.find((n) => n.id === id)?.data).toEqual({ strategy: 'round_robin', team: '', skills: [], timeout_seconds: 0 });
    a().undo(); // the node
    expect(s().nodes.map((n) => n.id)).toEqual(['start', 'cond', 'queue']);
    expect(s().dirty).toBe(false);
    a().undo(); // nothing left: no-op
    expect(s().nodes).toHaveLength(3);

    a().redo();
    a().redo();
    a().redo();
    expect(s().nodes.find((n) => n.id === id)?.data).toMatchObject({ team: 'gold' });
    expect(s().edges.find((e) => e.target === id)).toMatchObject({ source: 'cond', sourceHandle: 'out:true', label: 'true' });
    expect(s().future).toEqual([]);
    // A new change after undo drops the redo stack.
    a().undo();
    a().addNode('end', { x: 0, y: 0 });
    expect(s().future).toEqual([]);
  });

  it('deletes the selection and the edges that touch it, never start; undo brings them back', () => {
    a().select('cond');
    a().deleteSelection();
    expect(s().nodes.map((n) => n.id)).toEqual(['start', 'queue']);
    expect(s().edges).toEqual([]);
    a().undo();
    expect(s().nodes.map((n) => n.id)).toEqual(['start', 'cond', 'queue']);
    expect(s().edges.map((e) => e.id)).toEqual(['e1', 'e2']);

    a().select('start');
    a().deleteSelection();
    expect(s().nodes.map((n) => n.id)).toContain('start');
  });

  it('deletes a selected edge alone', () => {
    a().onEdgesChange([{ type: 'select', id: 'e2', selected: true }]);
    a().select(null); // selecting nothing clears edge selection too…
    a().onEdgesChange([{ type: 'select', id: 'e2', selected: true }]);
    a().deleteSelection();
    expect(s().edges.map((e) => e.id)).toEqual(['e1']);
    expect(s().nodes).toHaveLength(3);
  });

  it('allows one edge per branch: connecting a used handle again replaces its edge', () => {
    const id = a().addNode('end', { x: 0, y: 0 })!;
    a().connect({ source: 'cond', sourceHandle: handleId('false'), target: id, targetHandle: null });
    const fromFalse = s().edges.filter((e) => e.source === 'cond' && e.sourceHandle === 'out:false');
    expect(fromFalse).toHaveLength(1);
    expect(fromFalse[0]!.target).toBe(id);
  });

  it('refuses connections to itself, into start, or from a handle the node does not have', () => {
    const nodes = s().nodes;
    expect(canConnect(nodes, { source: 'cond', target: 'cond', sourceHandle: 'out:true' })).toBe(false);
    expect(canConnect(nodes, { source: 'cond', target: 'start', sourceHandle: 'out:true' })).toBe(false);
    expect(canConnect(nodes, { source: 'cond', target: 'queue', sourceHandle: 'out:open' })).toBe(false);
    expect(canConnect(nodes, { source: 'cond', target: 'queue', sourceHandle: 'out:error' })).toBe(true);
  });

  it('keeps a switch’s edges on a renamed case and drops those of a removed case', () => {
    const id = a().addNode('switch', { x: 0, y: 0 })!;
    a().connect({ source: 'cond', sourceHandle: handleId('true'), target: id, targetHandle: null });
    a().connect({ source: id, sourceHandle: handleId('case1'), target: 'queue', targetHandle: null });
    a().updateNodeData(id, { cases: [{ label: 'refund', expr: 'true' }] });
    expect(s().edges.find((e) => e.source === id)).toMatchObject({ sourceHandle: 'out:refund', label: 'refund' });
    a().updateNodeData(id, {
      cases: [
        { label: 'other', expr: 'true' },
        { label: 'more', expr: 'true' },
      ],
    });
    expect(s().edges.find((e) => e.source === id)).toBeUndefined();
  });

  it('clears a node’s server error when it is edited, and the trace when the graph changes', () => {
    a().setErrors({ cond: 'expression: unexpected token', graph: 'x' });
    a().setTrace([
      { node: 'start', type: 'start', outcome: 'next', detail: '' },
      { node: 'cond', type: 'condition', outcome: 'false', detail: '' },
      { node: 'queue', type: 'queue', outcome: 'queue', detail: '' },
    ]);
    expect(s().trace).toMatchObject({ nodes: ['start', 'cond', 'queue'], edges: ['e1', 'e2'] });
    a().updateNodeData('cond', { expr: 'true' });
    expect(s().errors).toEqual({ graph: 'x' });
    expect(s().trace).toBeNull();
  });

  it('lays out a loaded graph whose nodes all sit at 0,0, top to bottom', () => {
    const g = base();
    for (const n of g.nodes) n.position = { x: 0, y: 0 };
    a().load({ flowId: 'f1', name: 'Imported', ...g });
    const y = (id: string) => s().nodes.find((n) => n.id === id)!.position.y;
    expect(y('start')).toBeLessThan(y('cond'));
    expect(y('cond')).toBeLessThan(y('queue'));
    expect(s().dirty).toBe(false);
    a().autoLayout();
    a().undo();
    expect(s().past).toEqual([]);
  });

  it('is clean again after a save', () => {
    a().setName('Renamed');
    expect(s().dirty).toBe(true);
    const meta = {
      id: 'f1',
      name: 'Renamed',
      version: 2,
      latest_version: 2,
      published_version: 1,
      status: 'draft',
      active: true,
      graph: toApiGraph(s().nodes, s().edges),
      created_at: '',
      updated_at: '',
    } as const;
    a().markSaved({ ...meta, graph: meta.graph });
    expect(s().dirty).toBe(false);
    expect(s().meta?.version).toBe(2);
  });

  it('changes nothing when read-only', () => {
    a().load({ flowId: 'f1', name: 'Old', ...base(), readOnly: true });
    expect(a().addNode('end', { x: 0, y: 0 })).toBeNull();
    a().select('cond');
    a().deleteSelection();
    a().updateNodeData('cond', { expr: 'false' });
    expect(s().nodes).toHaveLength(3);
    expect(s().nodes.find((n) => n.id === 'cond')?.data).toEqual({ expr: 'visitor.returning' });
  });
});

describe('trace highlight', () => {
  it('follows the branch each step took, skipping notes', () => {
    const edges: EditorEdge[] = [
      { id: 'a', source: 'c', target: 'x', sourceHandle: 'out:true' },
      { id: 'b', source: 'c', target: 'x', sourceHandle: 'out:false' },
    ];
    const h = traceHighlight(
      [
        { node: 'c', type: 'condition', outcome: 'false', detail: '' },
        { node: 'x', type: 'condition', outcome: 'error', detail: '' },
        { node: '', type: 'queue', outcome: 'queue', detail: 'no error branch' },
      ],
      edges,
    );
    expect(h.nodes).toEqual(['c', 'x']);
    expect(h.edges).toEqual(['b']);
  });
});
