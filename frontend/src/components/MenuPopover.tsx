import { useState, type ReactElement, type ReactNode } from 'react';
import { Popover } from 'antd';

export type MenuItem = { key: string; label: ReactNode; icon?: ReactNode; danger?: boolean; type?: undefined } | { type: 'divider'; key?: undefined };

/**
 * A small click menu on antd's Popover (which the console loads anyway for
 * tooltips), instead of Dropdown + Menu, which would add ~18 KB gzip to the
 * console's first load for two menus of three items.
 */
export function MenuPopover({
  items,
  selected,
  onSelect,
  placement = 'topLeft',
  label,
  children,
}: {
  items: MenuItem[];
  selected?: string;
  onSelect: (key: string) => void;
  placement?: 'topLeft' | 'bottomRight' | 'rightBottom' | 'topRight';
  label: string;
  children: ReactElement;
}) {
  const [open, setOpen] = useState(false);
  const content = (
    <div role="menu" aria-label={label} className="menu-popover">
      {items.map((it, i) =>
        it.type === 'divider' ? (
          <div key={`d${i}`} role="separator" className="menu-popover-divider" />
        ) : (
          <button
            key={it.key}
            type="button"
            role="menuitemradio"
            aria-checked={it.key === selected}
            className={`menu-popover-item ${it.key === selected ? 'selected' : ''} ${it.danger ? 'danger' : ''}`}
            onClick={() => {
              setOpen(false);
              onSelect(it.key);
            }}
          >
            {it.icon}
            {it.label}
          </button>
        ),
      )}
    </div>
  );
  return (
    <Popover trigger="click" open={open} onOpenChange={setOpen} content={content} placement={placement} arrow={false}>
      {children}
    </Popover>
  );
}
