// widget.js entry: <script src="https://HOST/widget.js" data-key="WIDGET_KEY" async></script>
import { KefuWidget } from './widget';

declare global {
  interface Window {
    Kefu?: { open(): void; close(): void; destroy(): void; widget: KefuWidget };
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
  const start = () => {
    const widget = new KefuWidget({
      key,
      origin,
      lang: script.dataset.lang || document.documentElement.lang || navigator.language,
      brand: script.dataset.color || undefined,
    });
    window.Kefu = { open: () => widget.open(), close: () => widget.close(), destroy: () => widget.destroy(), widget };
    void widget.start();
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
}

boot();
