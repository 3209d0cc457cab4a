// widget.js entry: <script src="https://HOST/widget.js" data-key="WIDGET_KEY" async></script>
import { KefuWidget } from './widget';
import { createApiClient } from '../src/api/client';
import { ApiError } from '../src/api/errors';
import type { WidgetConfig } from '../src/api/types';
import { cleanIdentity, identityWarning, pageIdentity, type WidgetIdentity } from './identify';

declare global {
  interface Window {
    Kefu?: {
      open(): void;
      close(): void;
      destroy(): void;
      /** The visitor is this person of the site: {id, name?, email?, hash} (hash from the site's server). */
      identify(identity: WidgetIdentity): Promise<void>;
      /** The site's user signed out: forget this browser's visitor. */
      logout(): void;
      widget: KefuWidget | null;
    };
  }
}

function findScript(): HTMLScriptElement | null {
  const cur = document.currentScript;
  if (cur instanceof HTMLScriptElement && cur.dataset.key) return cur;
  const all = Array.from(document.querySelectorAll<HTMLScriptElement>('script[data-key]'));
  return all.find((s) => /\/widget\.js(\?|#|$)/.test(s.src)) ?? all[0] ?? null;
}

function boot() {
  if (window.Kefu) return; // loaded twice
  const script = findScript();
  const key = script?.dataset.key;
  if (!script || !key) {
    console.warn('[kefu] widget.js needs a data-key attribute on its <script> tag');
    return;
  }
  let origin: string;
  try {
    origin = new URL(script.src, location.href).origin;
  } catch {
    origin = location.origin;
  }
  let identity = pageIdentity(script);
  let widget: KefuWidget | null = null;
  let config: WidgetConfig | undefined;
  const build = () => {
    if (widget) return;
    widget = new KefuWidget({
      key,
      origin,
      lang: script.dataset.lang || document.documentElement.lang || navigator.language,
      brand: script.dataset.color || undefined,
      config,
      identity,
    });
    api.widget = widget;
    void widget.start();
  };
  const api: NonNullable<Window['Kefu']> = {
    open: () => widget?.open(),
    close: () => widget?.close(),
    destroy: () => widget?.destroy(),
    identify: (v) => {
      const id = cleanIdentity(v);
      if (!id) {
        console.warn('[kefu] Kefu.identify needs {id, hash} (and may take name and email)');
        return Promise.resolve();
      }
      identity = id;
      if (!widget) {
        build();
        return Promise.resolve();
      }
      return widget.identify(id);
    },
    logout: () => {
      identity = undefined;
      widget?.logout();
    },
    widget: null,
  };
  window.Kefu = api;
  // The settings come first: the widget is drawn once, in its colours and
  // language, and not at all on a page whose origin is not allowed.
  createApiClient({ baseUrl: origin })
    .widget.config(key)
    .then(
      (c) => {
        config = c;
        if (c.settings?.require_identity && !identity) {
          console.warn(identityWarning('identity_required'));
          return;
        }
        if (document.body) build();
        else document.addEventListener('DOMContentLoaded', build, { once: true });
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.code === 'origin_not_allowed') {
          console.warn(
            `[kefu] chat widget not shown: this page's origin (${location.origin}) is not in the workspace's allowed origins. An admin can add it in Settings → Widget → Allowed origins.`,
          );
        } else if (err instanceof ApiError && err.status === 404) {
          console.warn('[kefu] chat widget not shown: unknown data-key');
        } else if (document.body)
          build(); // a network fault: the widget's own start() tries again
        else document.addEventListener('DOMContentLoaded', build, { once: true });
      },
    );
}

boot();
