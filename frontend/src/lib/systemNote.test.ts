import { describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { systemText } from './systemNote';

describe('systemText', () => {
  it('renders codes in the reader language and falls back to the body', async () => {
    await i18n.changeLanguage('zh-CN');
    const t = i18n.t.bind(i18n);
    expect(systemText({ body: 'Assigned to Ann', system: { code: 'assigned', params: { agent_name: 'Ann' } } }, t)).toBe('已分配给 Ann');
    expect(systemText({ body: 'Transferred', system: { code: 'transferred', params: { from_name: 'A', agent_name: 'B' } } }, t)).toBe('已从 A 转接给 B');
    expect(systemText({ body: 'Something new', system: { code: 'brand_new', params: {} } }, t)).toBe('Something new');
    expect(systemText({ body: 'Plain body' }, t)).toBe('Plain body');
    await i18n.changeLanguage('en');
    expect(systemText({ body: 'x', system: { code: 'resolved', params: { by_name: 'Ann' } } }, i18n.t.bind(i18n))).toBe('Resolved by Ann');
  });
});
