import { lazy, Suspense, useEffect, useState } from 'react';

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

// The sheet itself (antd's modal) loads the first time it opens.
const ShortcutsSheet = lazy(() => import('./ShortcutsSheet'));

/** "?" (outside text fields) opens the keyboard cheat sheet. */
export function ShortcutsHelp() {
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
  return open ? (
    <Suspense fallback={null}>
      <ShortcutsSheet onClose={() => setOpen(false)} />
    </Suspense>
  ) : null;
}
