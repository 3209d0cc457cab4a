import type { Conversation, Visitor } from '../api/types';

/** "2m", "3 hours ago"-style short relative time, localized by Intl. */
export function relativeTime(iso: string | undefined | null, lang: string, now = Date.now(), nowLabel = 'now'): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const sec = Math.round((t - now) / 1000);
  const abs = Math.abs(sec);
  if (abs < 45) return nowLabel;
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'narrow' });
  if (abs < 3600) return rtf.format(Math.round(sec / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), 'hour');
  if (abs < 7 * 86400) return rtf.format(Math.round(sec / 86400), 'day');
  return new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric' }).format(t);
}

export function clockTime(iso: string | undefined | null, lang: string): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' }).format(t);
}

export function dateTime(iso: string | undefined | null, lang: string): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(t);
}

/** A short stable label for an anonymous visitor: the last 4 characters of the id. */
export function shortId(id: string): string {
  return (
    id
      .replace(/[^a-zA-Z0-9]/g, '')
      .slice(-4)
      .toUpperCase() || '?'
  );
}

export function visitorName(v: Visitor | undefined | null, anonymous: (id: string) => string): string {
  if (!v) return anonymous('?');
  return v.name?.trim() || v.email?.trim() || anonymous(shortId(v.id));
}

/** Deterministic avatar colour from an id. */
export function colorFor(id: string): string {
  const palette = ['#1677ff', '#13a8a8', '#52c41a', '#fa8c16', '#eb2f96', '#722ed1', '#2f54eb', '#d4380d'];
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return palette[h % palette.length]!;
}

export function sortConversations(list: Conversation[]): Conversation[] {
  return [...list].sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''));
}
