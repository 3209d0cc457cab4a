import { describe, expect, it } from 'vitest';
import i18n from 'i18next';
import './index';
import { loadLanguage } from './index';
import { registerWidgetStrings, widgetSettingsStrings } from './widgetSettings';

describe('the widget settings strings', () => {
  it('zh-CN and en have the same keys, none empty, and Chinese is translated', () => {
    const en = widgetSettingsStrings.en;
    const zh = widgetSettingsStrings['zh-CN'];
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const [k, v] of Object.entries(en)) {
      const z = zh[k as keyof typeof zh];
      expect(v.trim(), k).not.toBe('');
      expect(z.trim(), k).not.toBe('');
      if (/[a-z]{4,}/i.test(v)) expect(z, k).not.toBe(v);
    }
  });

  it('reach Chinese even when Chinese loads after the page', async () => {
    registerWidgetStrings();
    expect(i18n.t('widgetSettings.settingsTitle', { lng: 'en' })).toBe('Look and behaviour');
    await loadLanguage('zh-CN');
    expect(i18n.t('widgetSettings.settingsTitle', { lng: 'zh-CN' })).toBe('外观与行为');
    expect(i18n.t('app.save', { lng: 'zh-CN' })).not.toBe(i18n.t('app.save', { lng: 'en' }));
  });
});
