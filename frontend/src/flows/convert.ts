// Graph ⇄ API conversion, pure. The API's edge `label` (the branch it leaves
// by, "" for the single way on) lives on the canvas as the edge's
// `sourceHandle`: every node has one source handle per branch, and an edge
// takes its branch from the handle it leaves.
import type { FlowEdge, FlowGraph, FlowNode } from '../api/types';
import { isNodeType, specOf } from './registry';
import type { EditorEdge, EditorNode } from './types';

const PREFIX = 'out:';

/** The id of the source handle for a branch label ("" → "out:"). */
export function handleId(label: string): string {
  return PREFIX + label;
}

/** The branch label of a source handle id (null or unknown → ""). */
export function labelOfHandle(handle: string | null | undefined): string {
  return handle && handle.startsWith(PREFIX) ? handle.slice(PREFIX.length) : '';
}

export interface EditorGraph {
  nodes: EditorNode[];
  edges: EditorEdge[];
  /** Node types this editor does not know, left out (the server would not have stored them). */
  unknownTypes: string[];
}

/** An API graph → canvas nodes and edges. Each node's data goes through its type's fromApi. */
export function fromApiGraph(g: FlowGraph): EditorGraph {
  const unknownTypes: string[] = [];
  const nodes: EditorNode[] = [];
  for (const n of g.nodes ?? []) {
    if (!isNodeType(n.type)) {
      unknownTypes.push(n.type);
      continue;
    }
    const raw = n.data && typeof n.data === 'object' && !Array.isArray(n.data) ? n.data : {};
    nodes.push({
      id: n.id,
      type: n.type,
      position: { x: n.position?.x ?? 0, y: n.position?.y ?? 0 },
      data: specOf(n.type).fromApi(raw),
    } as EditorNode);
  }
  const edges: EditorEdge[] = (g.edges ?? []).map((e) => edgeFromApi(e));
  return { nodes, edges, unknownTypes };
}

export function edgeFromApi(e: FlowEdge): EditorEdge {
  const label = e.label ?? '';
  const out: EditorEdge = { id: e.id, source: e.source, target: e.target, sourceHandle: handleId(label) };
  if (label) out.label = label;
  return out;
}

/** Canvas nodes and edges → the API graph (only what the server stores). */
export function toApiGraph(nodes: readonly EditorNode[], edges: readonly EditorEdge[]): FlowGraph {
  return {
    nodes: nodes.map((n): FlowNode => ({
      id: n.id,
      type: n.type,
      data: { ...(n.data as Record<string, unknown>) },
      position: { x: n.position.x, y: n.position.y },
    })),
    edges: edges.map((e): FlowEdge => {
      const label = labelOfHandle(e.sourceHandle);
      const out: FlowEdge = { id: e.id, source: e.source, target: e.target };
      if (label) out.label = label;
      return out;
    }),
  };
}

/** True when a graph has no layout yet: every node at 0,0 (an imported or hand-written flow). */
export function needsLayout(nodes: readonly Pick<EditorNode, 'position'>[]): boolean {
  return nodes.length > 1 && nodes.every((n) => n.position.x === 0 && n.position.y === 0);
}
