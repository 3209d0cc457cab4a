import { Modal } from 'antd';
import { useTranslation } from 'react-i18next';
import { SHORTCUTS } from './Shortcuts';

/** The keyboard cheat sheet: every shortcut of the console. */
export default function ShortcutsSheet({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const tt = t as unknown as (k: string) => string;
  return (
    <Modal open onCancel={onClose} footer={null} title={t('console.shortcutsTitle')}>
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
