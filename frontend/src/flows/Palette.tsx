// The palette: every registered node type, grouped; drag one onto the
// canvas, or press it (keyboard) to drop it in the middle of the view.
import { Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { useShallow } from 'zustand/react/shallow';
import type { DragEvent } from 'react';
import { DND_TYPE } from './Canvas';
import { NODE_TYPES, PALETTE_GROUPS, registry } from './registry';
import { useFlowEditor } from './store';
import type { FlowNodeType } from './types';

export function Palette({ onAdd }: { onAdd: (type: FlowNodeType) => void }) {
  const { t } = useTranslation();
  const readOnly = useFlowEditor((s) => s.readOnly);
  // Types allowed once (start) that the flow already has.
  const taken = useFlowEditor(useShallow((s) => NODE_TYPES.filter((type) => registry[type].single && s.nodes.some((n) => n.type === type))));

  return (
    <aside className="flow-palette" aria-label={t('flows.palette.title')} data-testid="flow-palette">
      <div className="flow-panel-title">{t('flows.palette.title')}</div>
      {PALETTE_GROUPS.map((group) => (
        <div key={group} className="flow-palette-group">
          <div className="flow-palette-group-title">{t(`flows.palette.group.${group}`)}</div>
          {NODE_TYPES.filter((type) => registry[type].group === group).map((type) => {
            const spec = registry[type];
            const Icon = spec.icon;
            const disabled = readOnly || taken.includes(type);
            const onDragStart = (e: DragEvent) => {
              e.dataTransfer.setData(DND_TYPE, type);
              e.dataTransfer.effectAllowed = 'move';
            };
            return (
              <Tooltip key={type} title={t(spec.helpKey)} placement="right" mouseEnterDelay={0.6}>
                <button
                  type="button"
                  className="flow-palette-item"
                  style={{ ['--node-color' as string]: spec.color }}
                  draggable={!disabled}
                  disabled={disabled}
                  onDragStart={onDragStart}
                  onClick={() => onAdd(type)}
                  data-testid={`palette-${type}`}
                >
                  <span className="flow-node-icon" aria-hidden>
                    <Icon />
                  </span>
                  {t(spec.labelKey)}
                </button>
              </Tooltip>
            );
          })}
        </div>
      ))}
      <p className="muted flow-palette-hint">{t('flows.palette.hint')}</p>
    </aside>
  );
}
