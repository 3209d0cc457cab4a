// Canned replies in the composer: "/" opens a list filtered by a fuzzy match
// on the shortcut and the text; a chosen reply's variables are filled in.
import type { CannedReply } from '../api/types';

/**
 * How well query matches text as a subsequence (every character in order,
 * ignoring case): higher is better, -1 for no match. Consecutive characters
 * and a match at the start score more.
 */
export function fuzzyScore(query: string, text: string): number {
  const q = query.toLowerCase();
  const s = text.toLowerCase();
  if (!q) return 0;
  const at = s.indexOf(q);
  if (at >= 0) return 1000 - at - (s.length - q.length) / 100;
  let score = 0;
  let j = 0;
  let run = 0;
  for (let i = 0; i < s.length && j < q.length; i++) {
    if (s[i] === q[j]) {
      j++;
      run++;
      score += 1 + run * 2 + (i === 0 ? 5 : 0);
    } else run = 0;
  }
  return j === q.length ? score : -1;
}

/** The replies matching query, best first (shortcut matches beat body matches). */
export function filterCanned(list: readonly CannedReply[], query: string, max = 8): CannedReply[] {
  return list
    .map((r) => ({ r, score: Math.max(fuzzyScore(query, r.shortcut) * 2, fuzzyScore(query, r.body)) }))
    .filter((x) => x.score >= 0)
    .sort((a, b) => b.score - a.score || a.r.shortcut.localeCompare(b.r.shortcut))
    .slice(0, max)
    .map((x) => x.r);
}

export interface CannedContext {
  visitor?: { name?: string | null; email?: string | null };
  agent?: { name?: string | null };
  conversationId?: string;
}

/**
 * Fills {{visitor.name}}, {{visitor.email}}, {{visitor.first_name}},
 * {{agent.name}} and {{conversation.id}}; an unknown variable, or one with no
 * value, is left out (with the space before it), so a reply never shows braces.
 */
export function fillVariables(body: string, ctx: CannedContext, fallbacks: { visitor?: string } = {}): string {
  const name = ctx.visitor?.name?.trim() || fallbacks.visitor || '';
  const values: Record<string, string> = {
    'visitor.name': name,
    'visitor.first_name': name.split(/\s+/)[0] ?? '',
    'visitor.email': ctx.visitor?.email ?? '',
    'agent.name': ctx.agent?.name ?? '',
    'conversation.id': ctx.conversationId ?? '',
  };
  return body.replace(/ ?\{\{\s*([\w.]+)\s*\}\}/g, (whole, key: string) => {
    const v = values[key];
    if (!v) return '';
    return whole.startsWith(' ') ? ` ${v}` : v;
  });
}

/** The "/query" being typed at the caret, if the caret is in one. */
export function slashQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)\/([^\s/]*)$/.exec(before);
  if (!m) return null;
  return { start: caret - m[2]!.length - 1, query: m[2]! };
}
