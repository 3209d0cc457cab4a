// Kefu.identify: the site tells the widget who the visitor is, with a hash
// its server made (hex HMAC-SHA256 of the id under the workspace's identity
// secret). Given before load as window.KefuSettings = {identity: {...}} or
// data-user-id / data-user-name / data-user-email / data-user-hash on the
// script tag; after load with window.Kefu.identify({...}).
import type { WidgetIdentity } from '../src/api/types';

export type { WidgetIdentity };

declare global {
  interface Window {
    KefuSettings?: { identity?: WidgetIdentity };
  }
}

/** A usable identity (an id that is a non-empty string), trimmed; undefined otherwise. */
export function cleanIdentity(v: unknown): WidgetIdentity | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x.trim() : typeof x === 'number' ? String(x) : '');
  const id = str(o.id);
  if (!id) return undefined;
  const out: WidgetIdentity = { id };
  for (const k of ['name', 'email', 'hash'] as const) {
    const s = str(o[k]);
    if (s) out[k] = s;
  }
  return out;
}

/** The identity the page gave before the widget loaded. */
export function pageIdentity(script: HTMLScriptElement | null): WidgetIdentity | undefined {
  const fromSettings = cleanIdentity(window.KefuSettings?.identity);
  if (fromSettings) return fromSettings;
  const d = script?.dataset;
  return d ? cleanIdentity({ id: d.userId, name: d.userName, email: d.userEmail, hash: d.userHash }) : undefined;
}

/** The console line for an identity the server would not bind. */
export function identityWarning(code: string): string {
  return code === 'identity_required'
    ? '[kefu] this workspace runs its chat for identified visitors only: call Kefu.identify({id, name, email, hash}) with the hash your server computes (hex HMAC-SHA256 of the id with the identity secret from Settings → Widget).'
    : `[kefu] Kefu.identify was refused (${code}): the hash does not match the id under this workspace's identity secret (was it rotated?). The visitor stays anonymous.`;
}
