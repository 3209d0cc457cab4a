import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en';
import { readStorage, writeStorage } from '../stores/storage';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = 'kefu:lang';

// English, the fallback, is always there; Chinese is its own chunk, loaded
// before the app renders in Chinese (loadLanguage), so an English visit does
// not download it and a Chinese one does not download more than it needs.
export const resources = {
  en: { translation: en },
} as const;

/** Makes sure lang's strings are loaded (and the settings pages' too, once they are open). */
export async function loadLanguage(lang: string): Promise<void> {
  if (lang === 'zh-CN' && !i18n.hasResourceBundle('zh-CN', 'translation')) {
    const zh = (await import('./zh-CN')).default;
    i18n.addResourceBundle('zh-CN', 'translation', zh, true, true);
  }
  if (adminWanted) await loadAdminSections(lang);
}

// The settings pages' Chinese strings are a chunk of their own, loaded when
// the settings open (the console's first load stays within its budget).
let adminWanted = false;
let adminZh: Promise<void> | null = null;

function loadAdminSections(lang: string): Promise<void> {
  if (lang !== 'zh-CN') return Promise.resolve();
  adminZh ??= import('./zh-CN-admin').then((m) => {
    i18n.addResourceBundle('zh-CN', 'translation', m.default, true, true);
  });
  return adminZh;
}

/** Whether the settings pages' strings of the current language are there. */
export function adminStringsReady(): boolean {
  return i18n.language !== 'zh-CN' || i18n.getResource('zh-CN', 'translation', 'webhooks.title') !== undefined;
}

/** Loads the settings pages' strings of the current language, and of any language chosen later. */
export function loadAdminStrings(): Promise<void> {
  adminWanted = true;
  return loadAdminSections(i18n.language);
}

/** The saved choice, else the browser's language (any zh-* → zh-CN), else English. */
export function detectLanguage(saved = readStorage(KEY), nav: readonly string[] = browserLanguages()): Language {
  if (saved === 'zh-CN' || saved === 'en') return saved;
  for (const l of nav) {
    const low = l.toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

function browserLanguages(): string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? [...navigator.languages] : navigator.language ? [navigator.language] : [];
}

export function setLanguage(lang: Language) {
  writeStorage(KEY, lang);
  void loadLanguage(lang).then(() => i18n.changeLanguage(lang));
}

void i18n.use(initReactI18next).init({
  resources,
  lng: detectLanguage(),
  fallbackLng: 'en',
  supportedLngs: [...LANGUAGES],
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});

i18n.on('languageChanged', (lng) => {
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
});
if (typeof document !== 'undefined') document.documentElement.lang = i18n.language;

export default i18n;
