import { describe, expect, it } from 'vitest';
import { linkExpired, linkExpiry, linksChanged } from './attachments';

describe('file links', () => {
  const url = (exp: number) => `/api/v1/files/t1/a1?exp=${exp}&sig=abc`;

  it('reads the expiry of a link', () => {
    expect(linkExpiry(url(1_700_000_000))).toBe(1_700_000_000_000);
    expect(linkExpiry('blob:http://x/1')).toBeNull();
    expect(linkExpiry(undefined)).toBeNull();
  });

  it('knows an expired link, and one about to expire', () => {
    const now = 1_700_000_000_000;
    expect(linkExpired(url(1_699_999_999), now)).toBe(true);
    expect(linkExpired(url(1_700_000_100), now)).toBe(false);
    expect(linkExpired(url(1_700_000_030), now, 60_000)).toBe(true);
    expect(linkExpired('blob:http://x/1', now)).toBe(false);
  });

  it('tells re-signed links apart', () => {
    const a = { id: 'a1', name: 'p.png', content_type: 'image/png', size: 1, url: url(1) };
    expect(linksChanged([a], [{ ...a, url: url(2) }])).toBe(true);
    expect(linksChanged([a], [a])).toBe(false);
    expect(linksChanged([a], [])).toBe(false);
    expect(linksChanged(undefined, [a])).toBe(false);
  });
});
