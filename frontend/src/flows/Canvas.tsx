// The canvas: xyflow drawing the store's graph, taking node types dropped
// from the palette, and highlighting the simulated path.
import { useCallback, useEffect, useMemo, type DragEvent } from 'react';
import { Background, Controls, MarkerType, MiniMap, ReactFlow, useReactFlow, type IsValidConnection } from '@xyflow/react';
import { useTranslation } from 'react-i18next';
import { nodeTypes } from './FlowNode';
import { branchLabel, isNodeType, specOf } from './registry';
import { canConnect, useFlowActions, useFlowEditor } from './store';
import type { EditorEdge, EditorNode } from './types';

/** The drag-and-drop data type of a palette item. */
export const DND_TYPE = 'application/x-kefu-flow-node';

const defaultEdgeOptions = { type: 'smoothstep', markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 } };

export function Canvas() {
  const { t } = useTranslation();
  const nodes = useFlowEditor((s) => s.nodes);
  const edges = useFlowEditor((s) => s.edges);
  const tracedEdges = useFlowEditor((s) => s.trace?.edges);
  const readOnly = useFlowEditor((s) => s.readOnly);
  const actions = useFlowActions();
  const { screenToFlowPosition, fitView } = useReactFlow();

  // The canvas changes shape a lot between the phone and wider layouts: fit the flow again when crossing.
  useEffect(() => {
    const mq = window.matchMedia('(max-width: 767px)');
    const refit = () => requestAnimationFrame(() => void fitView({ padding: 0.2, maxZoom: 1 }));
    mq.addEventListener('change', refit);
    return () => mq.removeEventListener('change', refit);
  }, [fitView]);

  const shown = useMemo(
    () =>
      edges.map((e): EditorEdge => {
        const traced = !!tracedEdges?.includes(e.id);
        const label = typeof e.label === 'string' && e.label ? branchLabel(t, e.label) : undefined;
        if (!traced && label === e.label) return e;
        return { ...e, label, animated: traced, className: traced ? 'is-traced' : undefined, zIndex: traced ? 1 : 0 };
      }),
    [edges, tracedEdges, t],
  );

  const aria = useMemo(
    () => ({
      'node.a11yDescription.default': t('flows.canvas.nodeA11y'),
      'edge.a11yDescription.default': t('flows.canvas.edgeA11y'),
      'controls.ariaLabel': t('flows.canvas.controls'),
      'controls.zoomIn.ariaLabel': t('flows.canvas.zoomIn'),
      'controls.zoomOut.ariaLabel': t('flows.canvas.zoomOut'),
      'controls.fitView.ariaLabel': t('flows.canvas.fitView'),
      'minimap.ariaLabel': t('flows.canvas.minimap'),
      'handle.ariaLabel': t('flows.canvas.handle'),
    }),
    [t],
  );

  const isValid: IsValidConnection<EditorEdge> = useCallback((c) => canConnect(useFlowEditor.getState().nodes, c), []);

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(DND_TYPE)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'move';
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(DND_TYPE);
      if (!type || !isNodeType(type)) return;
      e.preventDefault();
      const p = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      // Centre the node's head on the pointer.
      actions.addNode(type, { x: Math.round(p.x - 100), y: Math.round(p.y - 24) });
    },
    [actions, screenToFlowPosition],
  );

  return (
    <div className="flow-canvas" onDragOver={onDragOver} onDrop={onDrop} data-testid="flow-canvas">
      <ReactFlow<EditorNode, EditorEdge>
        nodes={nodes}
        edges={shown}
        nodeTypes={nodeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={actions.onNodesChange}
        onEdgesChange={actions.onEdgesChange}
        onConnect={actions.connect}
        isValidConnection={isValid}
        onNodeDragStart={actions.checkpoint}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        edgesReconnectable={false}
        deleteKeyCode={null}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
        minZoom={0.2}
        maxZoom={2}
        snapToGrid
        snapGrid={[8, 8]}
        ariaLabelConfig={aria}
      >
        <Background gap={16} size={1} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeColor={(n) => specOf((n as EditorNode).type).color} className="flow-minimap" />
      </ReactFlow>
    </div>
  );
}
