// The React app: console, admin, auth pages. Loaded by main.ts for every page
// but the static landing page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import i18n, { loadLanguage } from './i18n';
import './styles.css';
import { App } from './App';

export async function boot(root: HTMLElement) {
  await loadLanguage(i18n.language).catch(() => undefined);
  // Re-render the strings once the bundle is in (init ran before it loaded).
  await i18n.changeLanguage(i18n.language);
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
