// The inspector: the selected node's settings (its type's form from the
// registry), the server's message for it and the client's own checks.
import { Alert, Button, Form, Typography } from 'antd';
import { DeleteOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import { specOf } from './registry';
import { useFlowActions, useFlowEditor } from './store';
import type { EditorNode, NodeDataMap } from './types';

export function Inspector() {
  const { t } = useTranslation();
  const selected = useFlowEditor(useShallow((s) => s.nodes.filter((n) => n.selected)));
  const edgesSelected = useFlowEditor((s) => s.edges.filter((e) => e.selected).length);
  const readOnly = useFlowEditor((s) => s.readOnly);
  const actions = useFlowActions();

  let body;
  if (selected.length === 1) body = <NodeInspector key={selected[0]!.id} node={selected[0]!} />;
  else if (selected.length > 1 || edgesSelected > 0)
    body = (
      <div data-testid="inspector-many">
        <Typography.Paragraph>{t('flows.inspector.many', { nodes: selected.length, edges: edgesSelected })}</Typography.Paragraph>
        {!readOnly ? (
          <Button danger icon={<DeleteOutlined />} onClick={actions.deleteSelection}>
            {t('flows.inspector.deleteSelection')}
          </Button>
        ) : null}
      </div>
    );
  else
    body = (
      <div data-testid="inspector-empty">
        <Typography.Paragraph type="secondary">{t('flows.inspector.empty')}</Typography.Paragraph>
        <ul className="flow-shortcuts muted">
          <li>{t('flows.inspector.tipDrag')}</li>
          <li>{t('flows.inspector.tipConnect')}</li>
          <li>{t('flows.inspector.tipDelete')}</li>
          <li>{t('flows.inspector.tipUndo')}</li>
        </ul>
      </div>
    );

  return (
    <aside className="flow-inspector" aria-label={t('flows.inspector.title')} data-testid="flow-inspector">
      <div className="flow-panel-title">{t('flows.inspector.title')}</div>
      {body}
    </aside>
  );
}

function NodeInspector({ node }: { node: EditorNode }) {
  const { t } = useTranslation();
  const spec = specOf(node.type);
  const error = useFlowEditor((s) => s.errors[node.id]);
  const readOnly = useFlowEditor((s) => s.readOnly);
  const actions = useFlowActions();
  const problems = spec.validate(node.data);
  const Icon = spec.icon;
  const Form_ = spec.Inspector;

  return (
    <div data-testid="inspector-node" data-id={node.id}>
      <div className="flow-inspector-head" style={{ ['--node-color' as string]: spec.color }}>
        <span className="flow-node-icon" aria-hidden>
          <Icon />
        </span>
        <div>
          <div className="flow-inspector-type">{t(spec.labelKey)}</div>
          <Typography.Text type="secondary" className="flow-mono" style={{ fontSize: 12 }}>
            {node.id}
          </Typography.Text>
        </div>
      </div>
      <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
        {t(spec.helpKey)}
      </Typography.Paragraph>
      {error ? <Alert type="error" showIcon title={t('flows.inspector.serverError')} description={error} style={{ marginBottom: 12 }} data-testid="inspector-error" /> : null}
      {problems.length > 0 && !error ? (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 12 }}
          data-testid="inspector-problems"
          title={
            <ul className="flow-problems">
              {problems.map((p, i) => (
                <li key={i}>{t(`flows.problems.${p.key}`, p.values ?? {})}</li>
              ))}
            </ul>
          }
        />
      ) : null}
      <Form layout="vertical" component="div" disabled={readOnly}>
        <Form_ id={node.id} data={node.data} readOnly={readOnly} error={error} onChange={(data: NodeDataMap[typeof node.type]) => actions.updateNodeData(node.id, data)} />
      </Form>
      {!readOnly && !spec.single ? (
        <Button danger type="text" icon={<DeleteOutlined />} onClick={actions.deleteSelection} data-testid="delete-node" style={{ marginTop: 8 }}>
          {t('flows.inspector.deleteNode')}
        </Button>
      ) : null}
    </div>
  );
}
