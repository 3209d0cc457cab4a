// Finds web addresses in message text so that they can be shown as links,
// safely: only http(s) and mailto links are made (never javascript:, data:
// or any other scheme), and the text around them stays plain text (the
// callers render it as text nodes, never as HTML). Shared by the console and
// the widget, so it has no imports.

export type Piece = { text: string; href?: string };

// http(s)://… or www.…, or an e-mail address. Stops at whitespace and at
// characters that rarely end a URL in prose.
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/gi;
const TRAILING = /[.,;:!?)\]}'"’”。，；：！？）】]+$/;

/** The safe href for a matched piece of text, or undefined when it is not a link we make. */
export function safeHref(raw: string): string | undefined {
  let href = raw;
  if (/^www\./i.test(href)) href = `https://${href}`;
  else if (!/^https?:\/\//i.test(href)) {
    if (/^[\w.+-]+@[\w-]+(\.[\w-]+)+$/.test(href)) return `mailto:${href}`;
    return undefined;
  }
  try {
    const u = new URL(href);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.href;
  } catch {
    return undefined;
  }
}

/** Splits text into plain pieces and links. */
export function linkify(text: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of text.matchAll(LINK)) {
    let raw = m[0];
    const trail = TRAILING.exec(raw)?.[0] ?? '';
    if (trail) raw = raw.slice(0, raw.length - trail.length);
    const href = raw ? safeHref(raw) : undefined;
    const start = m.index ?? 0;
    if (!href) continue;
    if (start > last) out.push({ text: text.slice(last, start) });
    out.push({ text: raw, href });
    last = start + raw.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}
