// The tenant's widget settings (Settings → Widget) as they change the
// widget's look: CSS added after the base styles, so nothing else in
// styles.ts needs to know them.
import type { WidgetSettings } from '../src/api/types';

export type { WidgetSettings };

/** A #rrggbb colour or undefined: anything else falls back to the widget's own. */
export function brandOf(s: WidgetSettings | undefined): string | undefined {
  return s?.color && /^#[0-9a-f]{6}$/i.test(s.color) ? s.color : undefined;
}

/** Only https images are shown (the server refuses others; a stale setting must not load http). */
export function avatarOf(s: WidgetSettings | undefined): string | undefined {
  return s?.avatar_url && /^https:\/\/[^\s"'<>\\]+$/.test(s.avatar_url) ? s.avatar_url : undefined;
}

export function lookCss(s: WidgetSettings | undefined): string {
  let out = `
.avatar { width: 36px; height: 36px; border-radius: 50%; object-fit: cover; flex: none; background: rgba(255,255,255,.25); }
.launcher.wide { width: auto; border-radius: 28px; padding: 0 20px 0 16px; gap: 8px; }
.ltext { font-size: 15px; font-weight: 600; white-space: nowrap; max-width: 220px; overflow: hidden; text-overflow: ellipsis; }
.pre { align-self: stretch; background: #fff; border: 1px solid #ececec; border-radius: 12px; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.pre-t { font-weight: 600; }
.pre-i { font-size: 12px; color: #595959; }
.pre label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: #1f1f1f; }
.pre input { font: inherit; font-size: 14px; border: 1px solid #d9d9d9; border-radius: 8px; padding: 6px 10px; outline: none; min-width: 0; }
.pre input:focus { border-color: currentColor; }
.pre input[aria-invalid="true"] { border-color: #cf1322; }
.pre .ferr { color: #a8071a; font-size: 12px; }
.pre .ferr:empty { display: none; }
.pre .req { color: #a8071a; margin-left: 2px; }
`;
  if (s?.position === 'left') out += '.launcher, .panel { left: 20px; right: auto; }\n@media (max-width: 479px) { .panel { left: 0; } }\n';
  return out;
}
