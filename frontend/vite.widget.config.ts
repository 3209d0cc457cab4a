import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// The embeddable visitor widget: one self-contained IIFE (no imports, no CSS
// file; its styles live in a shadow root) written next to the SPA build. It
// runs after the SPA build, so it must not empty dist/app.
export default defineConfig({
  root,
  // Keep Vite's cache with the root node_modules, out of frontend/.
  cacheDir: '../node_modules/.vite',
  publicDir: false,
  build: {
    outDir: 'dist/app',
    emptyOutDir: false,
    target: 'es2019',
    minify: true,
    sourcemap: false,
    reportCompressedSize: true,
    lib: {
      entry: 'widget/main.ts',
      name: 'KefuWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
