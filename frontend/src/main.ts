// The entry: a first visit to / gets the static landing page (a few KB, no
// React); everything else, and / for someone signed in (the app sends them
// on to /app), loads the React app.
import { readStorage } from './stores/storage';

const root = document.getElementById('root')!;
if (window.location.pathname === '/' && !readStorage('kefu:token')) {
  void import('./landing/static').then((m) => m.renderLanding(root));
} else {
  void import('./boot').then((m) => m.boot(root));
}
