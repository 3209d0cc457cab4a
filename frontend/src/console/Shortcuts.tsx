import { useEffect, useState } from 'react';
import { Modal } from 'antd';
import { useTranslation } from 'react-i18next';

/** Every shortcut of the console, for the cheat sheet (and nowhere else to forget). */
export const SHORTCUTS = [
  { keys: ['Enter'], what: 'console.key_send' },
  { keys: ['Ctrl', 'Enter'], what: 'console.key_send' },
  { keys: ['Shift', 'Enter'], what: 'console.key_newline' },
  { keys: ['/'], what: 'console.key_canned' },
  { keys: ['Alt', 'N'], what: 'console.key_note' },
  { keys: ['Alt', '↓'], what: 'console.key_next' },
  { keys: ['Alt', '↑'], what: 'console.key_prev' },
  { keys: ['/'], what: 'console.key_search', outside: true },
  { keys: ['Alt', 'Shift', 'R'], what: 'console.key_resolve' },
  { keys: ['?'], what: 'console.key_help' },
  { keys: ['Esc'], what: 'console.key_close' },
] as const;

/** Whether a key event comes from somewhere the user types text. */
export function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

/** "?" (outside text fields) opens the keyboard cheat sheet. */
export function ShortcutsHelp() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.key === '?' && !typing(e) && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        setOpen(true);
      }
    }
    const openIt = () => setOpen(true);
    window.addEventListener('keydown', onKey);
    window.addEventListener('kefu:shortcuts', openIt);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('kefu:shortcuts', openIt);
    };
  }, []);
  const tt = t as unknown as (k: string) => string;
  return (
    <Modal open={open} onCancel={() => setOpen(false)} footer={null} title={t('console.shortcutsTitle')} destroyOnHidden>
      <table className="shortcuts" data-testid="shortcuts">
        <tbody>
          {SHORTCUTS.map((s, i) => (
            <tr key={i}>
              <td className="shortcut-keys">
                {s.keys.map((k, j) => (
                  <span key={j}>
                    {j > 0 ? ' + ' : ''}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{tt(s.what)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
