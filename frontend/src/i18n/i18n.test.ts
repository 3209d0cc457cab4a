import { describe, expect, it } from 'vitest';
import en from './en';
import zhCNCore from './zh-CN';
import zhCNAdmin from './zh-CN-admin';
import { detectLanguage } from './index';

function flatten(o: object, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out[key] = v;
    else Object.assign(out, flatten(v as object, key));
  }
  return out;
}

const vars = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

const zhCN = { ...zhCNCore, ...zhCNAdmin };

describe('i18n resources', () => {
  const a = flatten(en);
  const b = flatten(zhCN);

  it('zh-CN and en have exactly the same keys', () => {
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  });

  it('no string is empty and both languages use the same interpolation variables', () => {
    for (const [k, v] of Object.entries(a)) {
      expect(v.trim(), `en ${k}`).not.toBe('');
      expect(b[k]!.trim(), `zh-CN ${k}`).not.toBe('');
      expect(vars(b[k]!), k).toEqual(vars(v));
    }
  });

  it('the Chinese resources are actually translated', () => {
    // Placeholders that are example data (an email, a slug) may stay as they are.
    const examples = ['auth.emailPlaceholder', 'auth.workspacePlaceholder', 'widgetPage.originsPlaceholder'];
    const same = Object.keys(a).filter((k) => !examples.includes(k) && a[k] === b[k] && /[a-z]{4,}/i.test(a[k]!));
    expect(same).toEqual([]);
  });

  it('picks the saved language, else the browser language, else English', () => {
    expect(detectLanguage('en', ['zh-CN'])).toBe('en');
    expect(detectLanguage(null, ['zh-TW', 'en'])).toBe('zh-CN');
    expect(detectLanguage(null, ['fr-FR', 'en-GB'])).toBe('en');
    expect(detectLanguage(null, ['de'])).toBe('en');
  });
});
