// How every node type looks on the canvas: one component, driven by the
// registry (icon, colour, name, summary, one source handle per branch).
import { memo } from 'react';
import { Handle, Position, type NodeProps, type NodeTypes } from '@xyflow/react';
import { useTranslation } from 'react-i18next';
import { handleId } from './convert';
import { nodeWidth } from './layout';
import { branchLabel, NODE_TYPES, specOf } from './registry';
import { useFlowEditor } from './store';
import type { EditorNode } from './types';

function FlowNodeView(props: NodeProps<EditorNode>) {
  const { id, type, data } = props;
  const { t } = useTranslation();
  const spec = specOf(type);
  const error = useFlowEditor((s) => s.errors[id]);
  const traced = useFlowEditor((s) => !!s.trace?.nodes.includes(id));
  const warn = spec.validate(data).length > 0;
  const outputs = spec.outputs(data);
  const Icon = spec.icon;
  const cls = ['flow-node', error ? 'has-error' : '', traced ? 'is-traced' : '', warn && !error ? 'has-warning' : ''].filter(Boolean).join(' ');
  return (
    <div
      className={cls}
      style={{ ['--node-color' as string]: spec.color, width: nodeWidth(outputs.length) }}
      data-testid="flow-node"
      data-id={id}
      data-type={type}
      data-error={error ? 'true' : undefined}
      data-traced={traced ? 'true' : undefined}
    >
      {spec.hasInput ? <Handle type="target" position={Position.Top} className="flow-handle-in" /> : null}
      <div className="flow-node-head">
        <span className="flow-node-icon" aria-hidden>
          <Icon />
        </span>
        <span className="flow-node-title">{t(spec.labelKey)}</span>
        <span className="flow-node-id" translate="no">
          {id}
        </span>
      </div>
      <div className="flow-node-summary" translate={type === 'condition' || type === 'set' ? 'no' : undefined}>
        {spec.summary(data, t)}
      </div>
      {error ? (
        <div className="flow-node-error" data-testid="node-error" role="alert">
          {error}
        </div>
      ) : null}
      {outputs.length > 0 ? (
        <div className="flow-node-outputs">
          {outputs.map((label) => (
            <div key={label} className="flow-node-out">
              <span className="flow-node-out-label">{label ? branchLabel(t, label) : '\u00a0'}</span>
              <Handle
                type="source"
                position={Position.Bottom}
                id={handleId(label)}
                className={label === 'error' ? 'flow-handle-error' : undefined}
                title={label ? branchLabel(t, label) : undefined}
              />
            </div>
          ))}
        </div>
      ) : (
        <div className="flow-node-outputs flow-node-outputs-none" />
      )}
    </div>
  );
}

const View = memo(FlowNodeView);

/** xyflow's nodeTypes: every registered type is drawn by the same component. */
export const nodeTypes: NodeTypes = Object.fromEntries(NODE_TYPES.map((type) => [type, View]));
