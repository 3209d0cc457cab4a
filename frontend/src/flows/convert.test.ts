import { describe, expect, it } from 'vitest';
import type { FlowGraph, FlowNode } from '../api/types';
import { fromApiGraph, handleId, labelOfHandle, needsLayout, toApiGraph } from './convert';

// Every node type with complete data, as the server stores it.
const graph: FlowGraph = {
  nodes: [
    { id: 'start', type: 'start', data: {}, position: { x: 0, y: 0 } },
    { id: 'is_pro', type: 'condition', data: { expr: 'visitor.attributes.plan == "pro"' }, position: { x: 10.5, y: 120 } },
    { id: 'topic', type: 'switch', data: { cases: [{ label: 'refund', expr: 'message.text contains "refund"' }] }, position: { x: -200, y: 240 } },
    { id: 'hello', type: 'reply', data: { text: '您好！' }, position: { x: 0, y: 360 } },
    { id: 'faq', type: 'faq', data: {}, position: { x: 1, y: 2 } },
    { id: 'bot', type: 'llm', data: { timeout_ms: 3000, fallback_text: 'One moment…' }, position: { x: 3, y: 4 } },
    {
      id: 'hours',
      type: 'business_hours',
      data: {
        timezone: 'Asia/Shanghai',
        schedule: {
          mon: [['09:00', '18:00']],
          sat: [
            ['10:00', '12:00'],
            ['13:00', '16:00'],
          ],
        },
        holidays: ['2026-10-01'],
      },
      position: { x: 5, y: 6 },
    },
    { id: 'seg', type: 'set', data: { attribute: 'segment', expr: '"vip"' }, position: { x: 7, y: 8 } },
    { id: 'tags', type: 'tag', data: { labels: ['vip', '退款'] }, position: { x: 9, y: 10 } },
    { id: 'hook', type: 'webhook', data: { url: 'https://example.com/h', timeout_ms: 5000 }, position: { x: 11, y: 12 } },
    { id: 'wait', type: 'queue', data: { timeout_seconds: 300 }, position: { x: 13, y: 14 } },
    { id: 'vip', type: 'assign', data: { strategy: 'skills', team: 'gold', skills: ['vip'], timeout_seconds: 60 }, position: { x: 15, y: 16 } },
    { id: 'done', type: 'end', data: {}, position: { x: 17, y: 18 } },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'is_pro' },
    { id: 'e2', source: 'is_pro', target: 'vip', label: 'true' },
    { id: 'e3', source: 'is_pro', target: 'topic', label: 'false' },
    { id: 'e4', source: 'topic', target: 'hello', label: 'refund' },
    { id: 'e5', source: 'vip', target: 'wait', label: 'timeout' },
    { id: 'e6', source: 'hello', target: 'done' },
  ],
};

describe('graph ⇄ API conversion', () => {
  it('round-trips every node type: ids, types, data and positions are kept', () => {
    const editor = fromApiGraph(graph);
    expect(editor.unknownTypes).toEqual([]);
    expect(toApiGraph(editor.nodes, editor.edges)).toEqual(graph);
    // And the other way: editor → API → editor.
    const again = fromApiGraph(toApiGraph(editor.nodes, editor.edges));
    expect(again.nodes).toEqual(editor.nodes);
    expect(again.edges).toEqual(editor.edges);
  });

  it('puts an edge’s label on its source handle, and takes it back from there', () => {
    const { edges } = fromApiGraph(graph);
    expect(edges.find((e) => e.id === 'e2')).toMatchObject({ sourceHandle: 'out:true', label: 'true' });
    expect(edges.find((e) => e.id === 'e1')).toMatchObject({ sourceHandle: 'out:' });
    expect(edges.find((e) => e.id === 'e1')).not.toHaveProperty('label');
    // An edge drawn on the canvas has only a handle: the API label comes from it.
    const drawn = toApiGraph([], [{ id: 'x', source: 'a', target: 'b', sourceHandle: handleId('closed') }]);
    expect(drawn.edges).toEqual([{ id: 'x', source: 'a', target: 'b', label: 'closed' }]);
    const next = toApiGraph([], [{ id: 'y', source: 'a', target: 'b', sourceHandle: handleId('') }]);
    expect(next.edges[0]).not.toHaveProperty('label');
  });

  it('maps handle ids and labels both ways, including the unlabelled way on', () => {
    for (const l of ['', 'true', 'error', 'default', 'a case: with spaces']) expect(labelOfHandle(handleId(l))).toBe(l);
    expect(labelOfHandle(null)).toBe('');
    expect(labelOfHandle(undefined)).toBe('');
  });

  it('fills missing or malformed data with typed defaults and keeps unknown fields', () => {
    const { nodes } = fromApiGraph({
      nodes: [
        { id: 'a', type: 'assign', data: { strategy: 'round_robin' }, position: { x: 0, y: 0 } },
        { id: 'q', type: 'queue', position: { x: 0, y: 0 } },
        { id: 'h', type: 'business_hours', data: { schedule: { mon: [['09:00', '18:00']], funday: [] }, extra: 1 }, position: { x: 0, y: 0 } },
        { id: 's', type: 'switch', data: { cases: 'nope' }, position: { x: 0, y: 0 } },
      ],
      edges: [],
    });
    expect(nodes[0]!.data).toEqual({ strategy: 'round_robin', team: '', skills: [], timeout_seconds: 0 });
    expect(nodes[1]!.data).toEqual({ timeout_seconds: 0 });
    expect(nodes[2]!.data).toEqual({ extra: 1, timezone: 'UTC', schedule: { mon: [['09:00', '18:00']] }, holidays: [] });
    expect(nodes[3]!.data).toEqual({ cases: [] });
  });

  it('leaves out node types it does not know and says which', () => {
    const g = fromApiGraph({ nodes: [{ id: 'x', type: 'teleport' as FlowNode['type'], position: { x: 0, y: 0 } }], edges: [] });
    expect(g.nodes).toEqual([]);
    expect(g.unknownTypes).toEqual(['teleport']);
  });

  it('needs a layout only when every node sits at 0,0', () => {
    const at = (x: number, y: number) => ({ position: { x, y } });
    expect(needsLayout([at(0, 0), at(0, 0)])).toBe(true);
    expect(needsLayout([at(0, 0), at(0, 110)])).toBe(false);
    expect(needsLayout([at(0, 0)])).toBe(false);
  });
});
