import 'i18next';
import type { Resources } from './en';
import type { WidgetSettingsStrings } from './widgetSettings';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: { translation: Resources & { widgetSettings: WidgetSettingsStrings } };
  }
}
