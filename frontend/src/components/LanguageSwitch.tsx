import { Button, Dropdown } from 'antd';
import { GlobalOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { setLanguage, type Language } from '../i18n';

const LABELS: Record<Language, string> = { 'zh-CN': '简体中文', en: 'English' };

export function LanguageSwitch({ compact = false, placement = 'bottomRight' }: { compact?: boolean; placement?: 'bottomRight' | 'rightBottom' | 'topRight' }) {
  const { t, i18n } = useTranslation();
  const current = (i18n.language === 'zh-CN' ? 'zh-CN' : 'en') as Language;
  return (
    <Dropdown
      placement={placement === 'rightBottom' ? 'topLeft' : placement}
      menu={{
        selectable: true,
        selectedKeys: [current],
        items: (Object.keys(LABELS) as Language[]).map((l) => ({ key: l, label: <span data-testid={`lang-${l}`}>{LABELS[l]}</span> })),
        onClick: ({ key }) => setLanguage(key as Language),
      }}
    >
      <Button type="text" icon={<GlobalOutlined />} aria-label={t('app.language')} data-testid="language-switch">
        {compact ? null : LABELS[current]}
      </Button>
    </Dropdown>
  );
}
