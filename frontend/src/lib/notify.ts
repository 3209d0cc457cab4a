// Desktop notification and a short chime for agents whose tab is hidden.

let audio: AudioContext | null = null;

export function chime(): void {
  try {
    const Ctx = (globalThis as { AudioContext?: typeof AudioContext }).AudioContext;
    if (!Ctx) return;
    audio ??= new Ctx();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.type = 'sine';
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, audio.currentTime);
    g.gain.exponentialRampToValueAtTime(0.15, audio.currentTime + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.3);
  } catch {
    /* audio not allowed yet (no user gesture): stay silent */
  }
}

export function canNotify(): boolean {
  return typeof Notification !== 'undefined';
}

/** Asks once, from a user gesture, for permission to show desktop notifications. */
export function askNotificationPermission(): void {
  if (canNotify() && Notification.permission === 'default') void Notification.requestPermission().catch(() => undefined);
}

export function desktopNotify(title: string, body: string, onClick?: () => void): void {
  if (!canNotify() || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body: body.slice(0, 140), tag: 'kefu' });
    n.onclick = () => {
      window.focus();
      onClick?.();
      n.close();
    };
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}

export function tabHidden(): boolean {
  return typeof document !== 'undefined' && document.visibilityState === 'hidden';
}
