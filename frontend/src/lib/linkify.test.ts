import { describe, expect, it } from 'vitest';
import { linkify, safeHref } from './linkify';

describe('linkify', () => {
  it('links http(s) and www addresses and leaves the rest as text', () => {
    expect(linkify('see https://example.com/a?b=1, thanks')).toEqual([
      { text: 'see ' },
      { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { text: ', thanks' },
    ]);
    expect(linkify('去 www.example.cn/退货。')).toEqual([{ text: '去 ' }, { text: 'www.example.cn/退货', href: 'https://www.example.cn/%E9%80%80%E8%B4%A7' }, { text: '。' }]);
  });

  it('never links dangerous schemes', () => {
    for (const s of ['javascript:alert(1)', 'data:text/html,<script>x</script>', 'vbscript:msgbox', 'JaVaScRiPt:alert(1)']) {
      expect(linkify(s).every((p) => !p.href)).toBe(true);
      expect(safeHref(s)).toBeUndefined();
    }
    // A link whose text hides a scheme after http is still only http(s).
    expect(safeHref('https://x.test/javascript:alert(1)')).toBe('https://x.test/javascript:alert(1)');
  });

  it('links e-mail addresses as mailto', () => {
    expect(linkify('mail ann@example.com now')).toEqual([{ text: 'mail ' }, { text: 'ann@example.com', href: 'mailto:ann@example.com' }, { text: ' now' }]);
  });

  it('keeps plain text whole', () => {
    expect(linkify('no links here')).toEqual([{ text: 'no links here' }]);
  });
});
