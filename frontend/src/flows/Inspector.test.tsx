import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen } from '@testing-library/react';
import i18n from '../i18n';
import { jsonResponse, renderWithApp } from '../test/render';
import { handleId } from './convert';
import { Inspector } from './Inspector';
import { useFlowEditor } from './store';

const actions = () => useFlowEditor.getState().actions;

describe('Inspector', () => {
  beforeEach(async () => {
    await i18n.changeLanguage('en');
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => jsonResponse(200, { agents: [] })),
    );
    actions().load({
      flowId: 'f1',
      name: 'Test',
      nodes: [
        { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: {} },
        { id: 'condition_1', type: 'condition', position: { x: 0, y: 120 }, data: { expr: 'visitor.plan ==' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'condition_1', sourceHandle: handleId('') }],
    });
  });

  it('asks to select a node when none is', () => {
    renderWithApp(<Inspector />);
    expect(screen.getByTestId('inspector-empty')).toBeTruthy();
  });

  it('shows the server’s error for the selected node, and drops it once the node is edited', () => {
    actions().setErrors({ condition_1: 'expression: unexpected token EOF (1:16)' });
    actions().select('condition_1');
    renderWithApp(<Inspector />);
    expect(screen.getByTestId('inspector-node').getAttribute('data-id')).toBe('condition_1');
    expect(screen.getByTestId('inspector-error').textContent).toContain('unexpected token EOF');
    const expr = screen.getByTestId('expr-input') as HTMLTextAreaElement;
    expect(expr.value).toBe('visitor.plan ==');
    expect(expr.className).toContain('status-error');

    fireEvent.change(expr, { target: { value: 'visitor.attributes.plan == "pro"' } });
    expect(useFlowEditor.getState().nodes.find((n) => n.id === 'condition_1')?.data).toEqual({ expr: 'visitor.attributes.plan == "pro"' });
    expect(screen.queryByTestId('inspector-error')).toBeNull();
  });

  it('shows the client’s own checks when there is no server error', () => {
    actions().updateNodeData('condition_1', { expr: '' });
    actions().select('condition_1');
    renderWithApp(<Inspector />);
    expect(screen.getByTestId('inspector-problems').textContent).toContain('Write an expression.');
  });

  it('has no delete button for start', () => {
    actions().select('start');
    renderWithApp(<Inspector />);
    expect(screen.getByTestId('inspector-node').getAttribute('data-id')).toBe('start');
    expect(screen.queryByTestId('delete-node')).toBeNull();
  });
});
