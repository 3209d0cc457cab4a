// Per-widget-key persistence in the host page's localStorage, guarded for
// sandboxed iframes and private modes.
import type { Attachment } from '../src/api/types';

export interface Outgoing {
  client_id: string;
  body: string;
  created_at: string;
  /** Uploaded files to send with the message (files still uploading are not kept). */
  attachments?: Attachment[];
}

export class WidgetStorage {
  constructor(private readonly key: string) {}

  private get<T>(name: string, fallback: T): T {
    try {
      const raw = localStorage.getItem(`kefu:${this.key}:${name}`);
      return raw == null ? fallback : (JSON.parse(raw) as T);
    } catch {
      return fallback;
    }
  }

  private set(name: string, value: unknown): void {
    try {
      const k = `kefu:${this.key}:${name}`;
      if (value == null) localStorage.removeItem(k);
      else localStorage.setItem(k, JSON.stringify(value));
    } catch {
      /* storage unavailable */
    }
  }

  /** The visitor token; kept as a bare string under kefu:<key>:token. */
  get token(): string | null {
    try {
      return localStorage.getItem(`kefu:${this.key}:token`);
    } catch {
      return null;
    }
  }

  set token(v: string | null) {
    try {
      const k = `kefu:${this.key}:token`;
      if (v) localStorage.setItem(k, v);
      else localStorage.removeItem(k);
    } catch {
      /* storage unavailable */
    }
  }

  /** Last seq the visitor has seen per conversation (for the unread badge). */
  get seen(): Record<string, number> {
    return this.get('seen', {});
  }

  set seen(v: Record<string, number>) {
    this.set('seen', v);
  }

  /** Messages typed but not yet acknowledged; resent after a reload with the same client_id. */
  get outbox(): Outgoing[] {
    return this.get('outbox', []);
  }

  set outbox(v: Outgoing[]) {
    this.set('outbox', v.length ? v : null);
  }

  /** This browser's visitor answered the pre-chat form. */
  get prechatDone(): boolean {
    return this.get('prechat', false);
  }

  set prechatDone(v: boolean) {
    this.set('prechat', v ? true : null);
  }

  get wasOpen(): boolean {
    try {
      return sessionStorage.getItem(`kefu:${this.key}:open`) === '1';
    } catch {
      return false;
    }
  }

  set wasOpen(v: boolean) {
    try {
      sessionStorage.setItem(`kefu:${this.key}:open`, v ? '1' : '0');
    } catch {
      /* storage unavailable */
    }
  }
}
