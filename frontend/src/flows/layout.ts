// Auto-layout with dagre, top to bottom: used by the "Auto-layout" button
// and for a loaded graph whose nodes all sit at 0,0.
import dagre from '@dagrejs/dagre';
import { labelOfHandle } from './convert';
import { outputsOf } from './registry';
import type { EditorEdge, EditorNode } from './types';

export const NODE_MIN_WIDTH = 200;
const SLOT = 64; // room per outgoing branch at the bottom of a node
const HEIGHT = 84;

/** The width a node is drawn with: room for each of its branches. */
export function nodeWidth(outputs: number): number {
  return Math.max(NODE_MIN_WIDTH, outputs * SLOT);
}

/** A node's size: as drawn when the canvas has measured it, else an estimate. */
export function nodeSize(n: EditorNode): { width: number; height: number } {
  const outputs = outputsOf(n).length;
  return {
    width: n.measured?.width ?? nodeWidth(outputs),
    height: n.measured?.height ?? HEIGHT,
  };
}

/** New positions for every node; edges leave in their branch order, so "true" sits left of "false". */
export function layoutNodes(nodes: readonly EditorNode[], edges: readonly EditorEdge[]): EditorNode[] {
  if (nodes.length === 0) return [];
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 48, ranksep: 72, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) g.setNode(n.id, nodeSize(n));
  const order = (e: EditorEdge) => {
    const src = byId.get(e.source);
    return src ? outputsOf(src).indexOf(labelOfHandle(e.sourceHandle)) : 0;
  };
  const sorted = [...edges].filter((e) => byId.has(e.source) && byId.has(e.target)).sort((a, b) => order(a) - order(b));
  for (const e of sorted) g.setEdge(e.source, e.target, {}, e.id);
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id) as { x: number; y: number; width: number; height: number } | undefined;
    if (!p) return n;
    return { ...n, position: { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) } };
  });
}
