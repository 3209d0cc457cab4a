import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render } from '@testing-library/react';
import { VirtualList } from './VirtualList';

describe('VirtualList', () => {
  const items = Array.from({ length: 1000 }, (_, i) => `row ${i}`);

  it('renders only the rows in view, and others after scrolling', () => {
    const { container, getByTestId } = render(
      <VirtualList items={items} rowHeight={50} render={(x) => <span>{x}</span>} getKey={(x) => x} overscan={2} data-testid="list" role="list" aria-label="rows" />,
    );
    const shown = container.querySelectorAll('.vlist-row').length;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(30);
    const list = getByTestId('list');
    list.scrollTop = 500 * 50;
    fireEvent.scroll(list);
    expect(container.textContent).toContain('row 500');
    expect(container.textContent).not.toContain('row 0');
  });

  it('asks for more near the end', () => {
    const onEnd = vi.fn();
    render(<VirtualList items={items.slice(0, 3)} rowHeight={50} render={(x) => <span>{x}</span>} getKey={(x) => x} onEndReached={onEnd} role="list" aria-label="rows" />);
    expect(onEnd).toHaveBeenCalled();
  });
});
