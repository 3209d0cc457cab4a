import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
const backend = process.env.KEFU_DEV_BACKEND ?? 'http://127.0.0.1:8080';

// The console SPA (landing, signup, login, /app). The Go binary embeds
// frontend/dist and serves frontend/dist/app/index.html for every non-API GET,
// /assets/* from frontend/dist/app/assets and /demo from demo.html (copied from
// public/). frontend/dist/.keep must survive, so only dist/app is emptied.
export default defineConfig({
  root,
  // Keep Vite's cache with the root node_modules, out of frontend/.
  cacheDir: '../node_modules/.vite',
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      '/api': backend,
      '/ws': { target: backend, ws: true },
    },
  },
});
