import { Button } from 'antd';
import { MenuPopover } from './MenuPopover';
import { GlobalOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { setLanguage, type Language } from '../i18n';

const LABELS: Record<Language, string> = { 'zh-CN': '简体中文', en: 'English' };

export function LanguageSwitch({ compact = false, placement = 'bottomRight' }: { compact?: boolean; placement?: 'bottomRight' | 'rightBottom' | 'topRight' }) {
  const { t, i18n } = useTranslation();
  const current = (i18n.language === 'zh-CN' ? 'zh-CN' : 'en') as Language;
  return (
    <MenuPopover
      placement={placement === 'rightBottom' ? 'topLeft' : placement}
      label={t('app.language')}
      selected={current}
      items={(Object.keys(LABELS) as Language[]).map((l) => ({
        key: l,
        label: (
          // Each language by its own name, marked as that language.
          <span data-testid={`lang-${l}`} lang={l}>
            {LABELS[l]}
          </span>
        ),
      }))}
      onSelect={(key) => setLanguage(key as Language)}
    >
      <Button type="text" icon={<GlobalOutlined />} aria-label={t('app.language')} data-testid="language-switch">
        {compact ? null : <span lang={current}>{LABELS[current]}</span>}
      </Button>
    </MenuPopover>
  );
}
