import { afterEach } from 'vitest';
import { cleanup } from '@testing-library/react';
import i18n from '../i18n';
import zhCN from '../i18n/zh-CN';
import zhCNAdmin from '../i18n/zh-CN-admin';

// Tests switch languages synchronously: both bundles are there from the start.
i18n.addResourceBundle('zh-CN', 'translation', zhCN, true, true);
i18n.addResourceBundle('zh-CN', 'translation', zhCNAdmin, true, true);

// jsdom lacks a few browser APIs that antd touches.
if (!window.matchMedia) {
  Object.defineProperty(window, 'matchMedia', {
    writable: true,
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false,
    }),
  });
}
if (!('ResizeObserver' in window)) {
  class RO {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  (window as unknown as { ResizeObserver: typeof RO }).ResizeObserver = RO;
}

// jsdom does not implement pseudo-elements; antd's modals (the image preview) measure the scrollbar with one.
const computedStyle = window.getComputedStyle.bind(window);
window.getComputedStyle = ((elt: Element) => computedStyle(elt)) as typeof window.getComputedStyle;

afterEach(() => {
  cleanup();
  localStorage.clear();
});
