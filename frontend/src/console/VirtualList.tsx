import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

/**
 * A list that renders only the rows in view (plus a few above and below), so
 * a thousand conversations cost as much to draw as twenty. Rows have one
 * fixed height. When the last rows come into view it asks for more
 * (onEndReached), which is how the inbox pages by cursor.
 */
export function VirtualList<T>({
  items,
  rowHeight,
  render,
  getKey,
  overscan = 6,
  onEndReached,
  footer,
  className,
  activeIndex,
  ...rest
}: {
  items: readonly T[];
  rowHeight: number;
  render: (item: T, index: number) => ReactNode;
  getKey: (item: T) => string;
  overscan?: number;
  onEndReached?: () => void;
  footer?: ReactNode;
  className?: string;
  /** Kept in view when it changes (keyboard navigation). */
  activeIndex?: number;
} & Record<`data-${string}` | 'role' | 'aria-label', string | undefined>) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setHeight(el.clientHeight || 600);
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (el) setScrollTop(el.scrollTop);
  }, []);

  const total = items.length * rowHeight;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);

  useEffect(() => {
    if (onEndReached && items.length > 0 && last >= items.length - overscan) onEndReached();
  }, [last, items.length, overscan, onEndReached]);

  useEffect(() => {
    const el = ref.current;
    if (!el || activeIndex === undefined || activeIndex < 0) return;
    const top = activeIndex * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  }, [activeIndex, rowHeight]);

  const rows: ReactNode[] = [];
  for (let i = first; i < last; i++) {
    const item = items[i]!;
    rows.push(
      <div key={getKey(item)} className="vlist-row" style={{ position: 'absolute', top: i * rowHeight, left: 0, right: 0, height: rowHeight }}>
        {render(item, i)}
      </div>,
    );
  }
  return (
    <div ref={ref} className={className} onScroll={onScroll} {...rest}>
      <div style={{ position: 'relative', height: total }}>{rows}</div>
      {footer}
    </div>
  );
}
