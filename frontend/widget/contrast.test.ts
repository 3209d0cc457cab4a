import { describe, expect, it } from 'vitest';
import { DEFAULT_BRAND, readableOn } from './styles';
import { pickStrings, systemText } from './i18n';

/** WCAG contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const n = parseInt(hex.slice(1), 16);
    const lin = (c: number) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin((n >> 16) & 255) + 0.7152 * lin((n >> 8) & 255) + 0.0722 * lin(n & 255);
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

describe('widget colours', () => {
  it('the default brand and its text meet AA, and any brand gets readable text', () => {
    expect(contrast(DEFAULT_BRAND, readableOn(DEFAULT_BRAND) === '#fff' ? '#ffffff' : '#1f1f1f')).toBeGreaterThanOrEqual(4.5);
    expect(readableOn('#ffd666')).toBe('#1f1f1f'); // a light brand gets dark text
    expect(readableOn('#141414')).toBe('#fff');
    // Timestamps, "Powered by" and names use #595959 on white and on the list's #f7f8fa.
    expect(contrast('#595959', '#ffffff')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#595959', '#f7f8fa')).toBeGreaterThanOrEqual(4.5);
  });

  it('system messages are shown in the page language from their code', () => {
    expect(systemText(pickStrings('zh-CN'), 'Assigned to Ann', { code: 'assigned', params: { agent_name: 'Ann' } })).toBe('Ann 已加入会话');
    expect(systemText(pickStrings('en'), 'Something', { code: 'new_thing' })).toBe('Something');
    expect(systemText(pickStrings('en'), 'Body', null)).toBe('Body');
  });
});
