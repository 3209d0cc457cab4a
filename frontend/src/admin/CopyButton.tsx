import { useState } from 'react';
import { Button } from 'antd';
import { useToast } from '../components/Toast';
import { CheckOutlined, CopyOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Insecure origins (plain http on a LAN address) have no clipboard API.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok: boolean;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label, testId, type = 'default' }: { text: string; label?: string; testId?: string; type?: 'default' | 'primary' }) {
  const { t } = useTranslation();
  const message = useToast();
  const [done, setDone] = useState(false);
  return (
    <Button
      type={type}
      icon={done ? <CheckOutlined /> : <CopyOutlined />}
      data-testid={testId}
      onClick={async () => {
        if (await copyText(text)) {
          setDone(true);
          message.success(t('app.copied'));
          setTimeout(() => setDone(false), 2000);
        }
      }}
    >
      {label ?? t('app.copy')}
    </Button>
  );
}
