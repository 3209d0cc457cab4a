/** How long since iso, as a short duration ("45s", "12 min", "3 h 5 min", "2 d") in lang. */
export function waitText(iso: string, now: number, lang: string): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.floor(ms / 1000));
  const zh = lang.startsWith('zh');
  if (s < 60) return zh ? `${s} 秒` : `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return zh ? `${m} 分钟` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return zh ? `${h} 小时${m % 60 ? ` ${m % 60} 分钟` : ''}` : `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return zh ? `${d} 天` : `${d} d`;
}
