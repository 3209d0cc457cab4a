// Attachment helpers shared by the console and the widget (no React, no DOM
// beyond URL): limits, kind and size labels, and safe links.
import type { Attachment } from './types';

/** The server's limit per file (POST /api/v1/uploads answers 413 above it). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** At most this many attachments per message. */
export const MAX_ATTACHMENTS = 10;

/** Images are shown as thumbnails; SVG is served as a download, so it is a file here too. */
export function isImage(a: Pick<Attachment, 'content_type'>): boolean {
  const ct = (a.content_type || '').toLowerCase();
  return ct.startsWith('image/') && !ct.startsWith('image/svg');
}

/** "532 B", "14 KB", "1.2 MB". */
export function formatSize(bytes: number): string {
  if (!(bytes >= 0)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const kb = bytes / 1024;
  if (kb < 1024) return `${kb < 10 ? kb.toFixed(1) : Math.round(kb)} KB`;
  const mb = kb / 1024;
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

/**
 * An attachment's link to put in href/src: server paths get the server's
 * origin (the widget runs on other sites); absolute http(s) and local blob:
 * links pass; anything else (javascript:, data:) becomes "#".
 */
export function attachmentHref(url: string | undefined | null, origin = ''): string {
  if (!url) return '#';
  if (url.startsWith('/') && !url.startsWith('//')) return origin.replace(/\/$/, '') + url;
  return /^(https?:|blob:)/i.test(url) ? url : '#';
}

/**
 * When a file link stops working (ms since the epoch), from its `exp`
 * parameter; null for links without one (local blob: previews).
 */
export function linkExpiry(url: string | undefined | null): number | null {
  if (!url) return null;
  const m = /[?&]exp=(\d+)/.exec(url);
  return m ? Number(m[1]) * 1000 : null;
}

/** True when a file link has expired (or will within `marginMs`): fetch its message again for a fresh one. */
export function linkExpired(url: string | undefined | null, now = Date.now(), marginMs = 0): boolean {
  const exp = linkExpiry(url);
  return exp != null && exp - marginMs <= now;
}

/** True when two lists hold the same files with different links (the server signed them afresh). */
export function linksChanged(a: readonly Attachment[] | null | undefined, b: readonly Attachment[] | null | undefined): boolean {
  if (!a?.length || !b?.length || a.length !== b.length) return false;
  return a.some((x, i) => x.id === b[i]!.id && x.url !== b[i]!.url);
}
