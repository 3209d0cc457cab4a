// The visitor widget: a launcher and a chat panel inside a shadow root.
import { createApiClient, type ApiClient } from '../src/api/client';
import { ApiError } from '../src/api/errors';
import { MAX_ATTACHMENTS, MAX_UPLOAD_BYTES, attachmentHref, formatSize, isImage, linkExpired } from '../src/api/attachments';
import type { Attachment, Message } from '../src/api/types';
import { RealtimeClient, RealtimeError, newClientId, wsUrl } from '../src/ws/client';
import { css, DEFAULT_BRAND } from './styles';
import { linkify } from '../src/lib/linkify';
import { fill, pickStrings, systemText, type WidgetStrings } from './i18n';
import { WidgetStorage } from './storage';
import { Timeline, type Entry } from './model';
import { avatarOf, brandOf, lookCss, type WidgetSettings } from './settings';
import { identityWarning, type WidgetIdentity } from './identify';
import { buildPrechat } from './prechat';
import { OfflineCard, isOffline, offlineCss, offlineStrings, subline, type OfflineForm, type OfflineStrings } from './offline';
import type { PrechatAnswers, WidgetConfig } from '../src/api/types';

export interface WidgetOptions {
  key: string;
  /** Origin of the Kefu server (where widget.js came from). */
  origin: string;
  lang?: string;
  brand?: string;
  /** Element the widget's host is appended to (default document.body). */
  mount?: HTMLElement;
  /** The workspace's settings (colour, position, greeting, form…), when known before the widget is built. */
  settings?: WidgetSettings;
  /** The config already fetched (start() then does not fetch it again). */
  config?: WidgetConfig;
  /** Who the site says the visitor is (Kefu.identify). */
  identity?: WidgetIdentity;
  /** Settings preview in the admin: no session, no network; the panel shows the look and the form. */
  preview?: boolean;
}

const MAX_BODY = 8000;
const ICON_CHAT = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
const ICON_CLOSE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z"/></svg>';
const ICON_DOWN = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5.4 8.3 12 14.9l6.6-6.6L20 9.7l-8 8-8-8z"/></svg>';
const ICON_SEND = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M2 21 23 12 2 3v7l15 2-15 2z"/></svg>';
const ICON_CLIP =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg>';
const ICON_FILE = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5z"/></svg>';
const ICON_BOT =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M11 2h2v3h4a3 3 0 0 1 3 3v9a3 3 0 0 1-3 3H7a3 3 0 0 1-3-3V8a3 3 0 0 1 3-3h4zM9 10a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm6 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/></svg>';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, attrs?: Record<string, string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export class KefuWidget {
  readonly host: HTMLElement;
  private readonly root: ShadowRoot;
  private readonly s: WidgetStrings;
  private readonly store: WidgetStorage;
  private readonly api: ApiClient;
  /** Uploads carry the visitor token (the other widget calls send none). */
  private readonly uploader: ApiClient;
  /** Files of messages still uploading or whose upload failed, by client_id (for retry). */
  private readonly files = new Map<string, File[]>();
  /** Thumbnails by link, reused across renders so images do not reload and flicker. */
  private readonly imgs = new Map<string, HTMLImageElement>();
  private readonly timeline = new Timeline();
  /** How far the business has read, per conversation (from read frames). */
  private readonly agentRead: Record<string, number> = {};
  private rt: RealtimeClient | null = null;
  private sessionStarting: Promise<void> | null = null;
  private sessionRetry = 0;
  private isOpen = false;
  private agentsOnline = true;
  private queuePos = 0;
  /** The place in line's estimate (null: unknown). */
  private queueWait: number | null = null;
  /** The public config: business hours, the queue, whether anyone can answer. */
  private avail: WidgetConfig | null = null;
  private readonly os: OfflineStrings;
  private readonly offlineCard: OfflineCard;
  private typingName: string | null = null;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private typingSentAt = 0;
  private typingOffTimer: ReturnType<typeof setTimeout> | undefined;
  private lastConversation: string | null = null;
  /** Bot answers arriving piece by piece, by stream id, until their stored message comes. */
  private readonly streams = new Map<string, { conversation_id: string; text: string }>();
  private readonly humanBtn: HTMLButtonElement;
  /** When file links were last refreshed (a reconnect that replays the history). */
  private linksRefreshedAt = 0;
  /** A file clicked while its link had expired: opened once its fresh link arrives. */
  private openWhenFresh: string | null = null;
  private disabled = false;
  private destroyed = false;
  /** The resolved conversation the visitor is asked to rate, and the card that asks. */
  private csatFor: string | null = null;
  private csatThanks = false;
  private readonly csatCard: HTMLElement;
  private csatScore = 0;
  private identity: WidgetIdentity | undefined;
  /** The pre-chat form is to be answered before the first message. */
  private prechatNeeded = false;
  private prechatCard: HTMLFormElement | null = null;
  private readonly greeting: string;
  /** The launcher's text (settings), shown while the panel is closed. */
  private launcherText: HTMLElement | null = null;

  // DOM
  private readonly panel: HTMLElement;
  private readonly launcher: HTMLButtonElement;
  private readonly badge: HTMLElement;
  private readonly title: HTMLElement;
  private readonly sub: HTMLElement;
  private readonly dot: HTMLElement;
  private readonly statusBar: HTMLElement;
  private readonly list: HTMLElement;
  private readonly typingEl: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly sendBtn: HTMLButtonElement;
  private readonly fileInput: HTMLInputElement;
  private readonly composeErr: HTMLElement;
  private composeErrTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly live: HTMLElement;

  constructor(private readonly opts: WidgetOptions) {
    const look = opts.settings ?? opts.config?.settings;
    this.s = pickStrings(look?.language || opts.lang);
    this.greeting = look?.greeting || this.s.greeting;
    this.identity = opts.identity;
    this.os = offlineStrings(look?.language || opts.lang);
    this.offlineCard = new OfflineCard(
      this.os,
      (f) => this.leaveMessage(f),
      () => this.render(),
    );
    this.store = new WidgetStorage(opts.key);
    this.api = createApiClient({ baseUrl: opts.origin });
    this.uploader = createApiClient({ baseUrl: opts.origin, getToken: () => this.store.token });

    this.host = document.createElement('kefu-widget');
    this.host.style.setProperty('all', 'initial', 'important');
    this.host.setAttribute('data-testid', 'kefu-widget');
    this.root = this.host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = css(brandOf(look) ?? opts.brand ?? DEFAULT_BRAND) + lookCss(look) + offlineCss;
    const wrap = el('div', 'root');
    wrap.lang = this.s === pickStrings('zh') ? 'zh-CN' : 'en';

    // Panel
    this.panel = el('div', 'panel', { role: 'dialog', 'aria-modal': 'false', 'data-testid': 'kefu-panel', 'aria-hidden': 'true' });
    const head = el('div', 'head');
    const headText = el('div', 'head-text');
    this.title = el('h2', 'title', { 'data-testid': 'kefu-title', id: 'kefu-title' });
    this.title.textContent = this.s.title;
    this.panel.setAttribute('aria-labelledby', 'kefu-title');
    this.sub = el('div', 'sub');
    this.dot = el('span', 'dot');
    const subText = el('span');
    this.sub.append(this.dot, subText);
    headText.append(this.title, this.sub);
    const avatar = avatarOf(look);
    if (avatar) {
      const img = el('img', 'avatar', { src: avatar, alt: '', 'data-testid': 'kefu-avatar', referrerpolicy: 'no-referrer' });
      head.append(img);
    }
    // "Talk to a person": hands the conversation from the bot to the team.
    this.humanBtn = el('button', 'human', { type: 'button', 'data-testid': 'kefu-human' });
    this.humanBtn.textContent = this.s.human;
    this.humanBtn.hidden = true;
    this.humanBtn.addEventListener('click', () => {
      if (!this.rt?.handoff(this.lastConversation ?? undefined)) return;
      this.humanBtn.disabled = true;
      this.showStatus(this.s.humanAsked);
      setTimeout(() => this.showStatus(null), 4000);
    });
    const x = el('button', 'x', { type: 'button', 'aria-label': this.s.close, 'data-testid': 'kefu-close' });
    x.innerHTML = ICON_DOWN;
    x.addEventListener('click', () => this.close());
    head.append(headText, this.humanBtn, x);
    this.statusBar = el('div', 'status', { role: 'status' });
    this.statusBar.hidden = true;
    this.list = el('div', 'list', { role: 'log', 'aria-live': 'polite', 'data-testid': 'kefu-messages' });
    this.typingEl = el('div', 'typing', { 'data-testid': 'kefu-typing' });
    this.typingEl.hidden = true;
    const compose = el('form', 'compose');
    this.input = el('textarea', '', { rows: '1', placeholder: this.s.placeholder, 'aria-label': this.s.placeholder, 'data-testid': 'kefu-input', maxlength: String(MAX_BODY) });
    this.sendBtn = el('button', 'send', { type: 'submit', 'aria-label': this.s.send, 'data-testid': 'kefu-send' });
    this.sendBtn.innerHTML = ICON_SEND;
    this.sendBtn.disabled = true;
    const clip = el('button', 'clip', { type: 'button', 'aria-label': this.s.attach, title: this.s.attach, 'data-testid': 'kefu-attach' });
    clip.innerHTML = ICON_CLIP;
    this.fileInput = el('input', 'file', { type: 'file', multiple: '', tabindex: '-1', 'aria-hidden': 'true', 'data-testid': 'kefu-file' });
    clip.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.attach([...(this.fileInput.files ?? [])]);
      this.fileInput.value = '';
    });
    compose.append(clip, this.input, this.sendBtn, this.fileInput);
    this.composeErr = el('div', 'cerr', { role: 'alert', 'data-testid': 'kefu-compose-error' });
    this.composeErr.hidden = true;
    const foot = el('div', 'foot');
    foot.textContent = this.s.powered;
    this.live = el('div', 'sr', { 'aria-live': 'polite' });
    this.panel.append(head, this.statusBar, this.list, this.composeErr, compose, foot, this.live);
    // Files dropped anywhere on the panel are attached.
    this.panel.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    });
    this.panel.addEventListener('drop', (e) => {
      const files = [...(e.dataTransfer?.files ?? [])];
      if (!files.length) return;
      e.preventDefault();
      this.attach(files);
    });

    // Launcher (after the panel: the phone layout hides it while the panel is open)
    this.launcher = el('button', 'launcher', { type: 'button', 'aria-label': this.s.open, 'aria-expanded': 'false', 'data-testid': 'kefu-launcher' });
    this.launcher.innerHTML = ICON_CHAT;
    if (look?.launcher_text) {
      this.launcher.classList.add('wide');
      this.launcherText = el('span', 'ltext', { 'data-testid': 'kefu-launcher-text' });
      this.launcherText.textContent = look.launcher_text;
      this.launcher.append(this.launcherText);
    }
    this.badge = el('span', 'badge', { 'data-testid': 'kefu-badge' });
    this.badge.hidden = true;
    this.launcher.append(this.badge);
    this.launcher.addEventListener('click', () => (this.isOpen ? this.close() : this.open()));

    wrap.append(this.panel, this.launcher);
    this.root.append(style, wrap);

    compose.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => {
      this.autosize();
      this.composeError(null);
      this.sendBtn.disabled = !this.input.value.trim();
      this.sendTyping();
    });
    this.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        this.close();
        this.launcher.focus();
      }
    });
    // Keep key presses inside the widget from triggering the host page's shortcuts.
    for (const t of ['keydown', 'keyup', 'keypress'] as const) this.panel.addEventListener(t, (e) => e.stopPropagation());

    document.addEventListener('visibilitychange', () => {
      if (this.isOpen && document.visibilityState === 'visible') this.markSeen();
    });

    this.csatCard = this.buildCsat();
    const form = look?.prechat;
    if (form?.enabled && form.fields.length) {
      this.prechatCard = buildPrechat(this.s, form, (a) => this.sendPrechat(a));
      // Before a session says otherwise: asked unless this browser already answered.
      this.prechatNeeded = opts.preview || !this.store.prechatDone;
    }
    this.setSub();
    this.render();
    (opts.mount ?? document.body).append(this.host);
  }

  /** Five stars and a comment, shown once a conversation is resolved. */
  private buildCsat(): HTMLElement {
    const card = el('form', 'csat', { 'data-testid': 'kefu-csat' });
    const q = el('div', 'csat-q');
    q.textContent = this.s.csatAsk;
    const stars = el('div', 'stars', { role: 'radiogroup', 'aria-label': this.s.csatAsk });
    const buttons: HTMLButtonElement[] = [];
    const paint = () => buttons.forEach((b, i) => (b.classList.toggle('on', i < this.csatScore), b.setAttribute('aria-checked', String(i + 1 === this.csatScore))));
    for (let n = 1; n <= 5; n++) {
      const b = el('button', 'star', { type: 'button', role: 'radio', 'aria-label': fill(this.s.csatStar, { n }), 'data-testid': `kefu-star-${n}` });
      b.textContent = '★';
      b.addEventListener('click', () => {
        this.csatScore = n;
        paint();
        send.disabled = false;
      });
      buttons.push(b);
    }
    stars.append(...buttons);
    const comment = el('textarea', '', { rows: '2', maxlength: '1000', placeholder: this.s.csatComment, 'aria-label': this.s.csatComment, 'data-testid': 'kefu-csat-comment' });
    const send = el('button', 'csat-send', { type: 'submit', 'data-testid': 'kefu-csat-send' });
    send.textContent = this.s.csatSend;
    send.disabled = true;
    const err = el('div', 'cerr', { role: 'alert' });
    err.hidden = true;
    card.append(q, stars, comment, send, err);
    card.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!this.csatFor || !this.csatScore) return;
      err.hidden = this.rt?.csat(this.csatFor, this.csatScore, comment.value.trim()) ?? false;
      err.textContent = this.s.csatFailed;
    });
    return card;
  }

  /** Follows a conversation's state: ask for a rating once it is resolved and not yet rated. */
  private trackCsat(c: { id: string; status: string; csat?: unknown }) {
    if (c.status === 'resolved' && !c.csat) {
      if (this.csatFor !== c.id) {
        this.csatFor = c.id;
        this.csatThanks = false;
      }
    } else if (c.id === this.csatFor || (c.csat && c.status === 'resolved')) {
      this.csatThanks = !!c.csat && c.id === this.csatFor;
      this.csatFor = null;
    }
    this.render();
  }

  /** Loads the tenant's name, resumes a stored session, re-queues unsent messages. */
  async start(): Promise<void> {
    for (const o of this.store.outbox) {
      this.timeline.upsert({
        conversation_id: '',
        seq: 0,
        client_id: o.client_id,
        author: 'visitor',
        body: o.body,
        attachments: o.attachments,
        created_at: o.created_at,
        pending: true,
      });
    }
    this.render();
    if (this.opts.preview) {
      this.title.textContent = this.opts.config?.tenant_name || this.s.title;
      return;
    }
    (this.opts.config ? Promise.resolve(this.opts.config) : this.api.widget.config(this.opts.key)).then(
      (c) => {
        if (c.tenant_name) this.title.textContent = c.tenant_name;
        this.agentsOnline = typeof c.agents_online === 'number' ? c.agents_online > 0 : !!c.agents_online;
        this.avail = c;
        this.offlineCard.setReason(c, new Date(), this.opts.lang);
        this.setSub();
        this.render();
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 404) this.disable();
        if (err instanceof ApiError && err.code === 'origin_not_allowed') this.disable(originWarning());
      },
    );
    if (this.store.token || this.store.outbox.length) await this.ensureSession();
    if (this.store.wasOpen) this.open();
  }

  open(): void {
    if (this.disabled) return;
    this.isOpen = true;
    this.store.wasOpen = true;
    this.panel.classList.add('open');
    this.panel.setAttribute('aria-hidden', 'false');
    this.launcher.setAttribute('aria-expanded', 'true');
    this.launcher.setAttribute('aria-label', this.s.close);
    this.launcher.innerHTML = ICON_CLOSE;
    this.launcher.classList.remove('wide');
    this.launcher.append(this.badge);
    this.markSeen();
    this.scrollToEnd(true);
    if (!this.opts.preview) setTimeout(() => this.input.focus(), 50);
    void this.ensureSession();
  }

  close(): void {
    this.isOpen = false;
    this.store.wasOpen = false;
    this.panel.classList.remove('open');
    this.panel.setAttribute('aria-hidden', 'true');
    this.launcher.setAttribute('aria-expanded', 'false');
    this.launcher.setAttribute('aria-label', this.s.open);
    this.launcher.innerHTML = ICON_CHAT;
    if (this.launcherText) {
      this.launcher.classList.add('wide');
      this.launcher.append(this.launcherText);
    }
    this.launcher.append(this.badge);
  }

  destroy(): void {
    this.destroyed = true;
    this.rt?.close();
    this.host.remove();
  }

  // ---- session and socket ----

  private ensureSession(): Promise<void> {
    if (this.rt || this.disabled || this.destroyed || this.opts.preview) return Promise.resolve();
    this.sessionStarting ??= this.createSession().finally(() => {
      this.sessionStarting = null;
    });
    return this.sessionStarting;
  }

  private async createSession(): Promise<void> {
    this.showStatus(this.s.connecting);
    try {
      const res = await this.api.widget.session({
        widget_key: this.opts.key,
        visitor_token: this.store.token ?? undefined,
        visitor: {
          attributes: {
            page_url: location.href,
            referrer: document.referrer || undefined,
            language: navigator.language,
          },
        },
        identity: this.identity,
      });
      this.sessionRetry = 0;
      if (res.identity_error) console.warn(identityWarning(res.identity_error));
      if (this.store.token && this.store.token !== res.visitor_token) this.timeline.clear(); // another person now: their history comes
      this.store.token = res.visitor_token;
      if (this.prechatCard) {
        this.prechatNeeded = !!res.prechat_needed;
        this.store.prechatDone = !res.prechat_needed;
        this.render();
      }
      this.connect();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        this.disable();
        return;
      }
      if (err instanceof ApiError && (err.code === 'origin_not_allowed' || err.code === 'identity_required' || err.code === 'identity_invalid')) {
        this.disable(err.code === 'origin_not_allowed' ? originWarning() : identityWarning(err.code));
        return;
      }
      if (err instanceof ApiError && (err.status === 401 || err.status === 400) && this.store.token) {
        // The stored token is no longer valid: start over as a new visitor.
        this.store.token = null;
      }
      const delay = Math.min(10000, 1000 * 2 ** this.sessionRetry++);
      this.showStatus(this.s.offlineNet);
      setTimeout(() => void this.ensureSession(), delay);
    }
  }

  private connect() {
    const rt = new RealtimeClient({
      url: wsUrl(this.opts.origin),
      token: () => this.store.token,
      // A fresh page load replays everything so the whole history renders.
      initialSince: {},
    });
    this.rt = rt;
    rt.on('status', (st) => {
      if (st === 'open') this.showStatus(null);
      else if (st === 'reconnecting') this.showStatus(this.s.offlineNet);
    });
    rt.on('welcome', (w) => {
      const convs = w.conversations ?? [];
      const latest = [...convs].sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''))[0];
      if (latest) {
        this.lastConversation = latest.id;
        this.trackCsat(latest);
      }
    });
    rt.on('message', (f) => this.onMessage(f.message, f.conversation_id, f.seq));
    rt.on('ack', (a) => {
      this.lastConversation = a.conversation_id || this.lastConversation;
      this.timeline.ack(a.client_id, a.conversation_id, a.seq);
      this.dropFromOutbox(a.client_id);
      if (this.isOpen) this.markSeen();
      this.render();
    });
    rt.on('typing', (f) => {
      if (f.author?.type === 'visitor') return;
      this.setTyping(f.state === false ? null : f.author?.name || this.s.someone);
    });
    rt.on('read', (f) => {
      // The business read up to seq: the visitor's messages up to it show "seen".
      if (!f.reader || f.reader.type === 'visitor') return;
      if (f.seq > (this.agentRead[f.conversation_id] ?? 0)) {
        this.agentRead[f.conversation_id] = f.seq;
        this.render();
      }
    });
    rt.on('delta', (f) => {
      if (f.done) this.streams.delete(f.stream_id);
      else {
        const cur = this.streams.get(f.stream_id);
        this.streams.set(f.stream_id, { conversation_id: f.conversation_id, text: (cur?.text ?? '') + f.text });
        this.setTyping(null);
      }
      this.render();
    });
    rt.on('conversation', (f) => {
      // With a person (or queued, or closed), the button has done its work.
      if (f.conversation.status !== 'bot') this.humanBtn.hidden = true;
      // Out of the queue (assigned or resolved): no place in line to show.
      if (f.conversation.status !== 'queued' && this.queuePos) {
        this.queuePos = 0;
        this.queueWait = null;
        this.setSub();
      }
      this.trackCsat(f.conversation);
    });
    rt.on('queue', (q) => {
      this.queuePos = q.position;
      this.queueWait = q.position > 0 ? (q.estimated_wait_seconds ?? null) : null;
      this.setSub();
    });
    rt.on('unauthorized', () => {
      // Expired or revoked visitor token: a new session, the same unsent messages.
      this.rt = null;
      this.store.token = null;
      this.timeline.clear();
      void this.start();
    });
    // Messages typed before the session existed (or before a reload) go out now, with their client_id.
    for (const e of this.timeline.all()) if (e.pending && !e.uploading && e.client_id) this.dispatch(e.client_id, e.body, e.attachments);
    rt.connect();
  }

  private onMessage(m: Message, conversation_id: string, seq: number) {
    if (m.private) return;
    this.lastConversation = conversation_id;
    const author = m.author?.type ?? 'system';
    const changed = this.timeline.upsert({
      conversation_id,
      seq,
      client_id: m.client_id ?? undefined,
      author,
      name: m.author?.name ?? undefined,
      body: author === 'system' ? systemText(this.s, m.body, m.system) : m.body,
      attachments: m.attachments?.length ? m.attachments : undefined,
      created_at: m.created_at,
    });
    if (!changed) return;
    if (author !== 'visitor') {
      this.setTyping(null);
      if (this.isOpen && document.visibilityState !== 'hidden') this.markSeen();
      else if (author !== 'system') this.live.textContent = m.body || (m.attachments ?? []).map((a) => a.name).join(', ');
    }
    if (m.client_id) {
      this.dropFromOutbox(m.client_id);
      this.streams.delete(m.client_id); // the stored answer replaces its stream
    }
    // Once a bot has spoken, the visitor may ask for a person instead.
    if (author === 'bot' && this.humanBtn.hidden && !this.humanBtn.disabled) this.humanBtn.hidden = false;
    this.render();
    const fresh = this.openWhenFresh ? m.attachments?.find((a) => a.id === this.openWhenFresh && !linkExpired(a.url)) : undefined;
    if (fresh) {
      this.openWhenFresh = null;
      window.open(attachmentHref(fresh.url, this.opts.origin), '_blank', 'noopener,noreferrer');
    }
  }

  /**
   * File links expire (a day by default) and are signed afresh whenever the
   * server sends a message: a page open that long reconnects, the history
   * replays, and the timeline takes the new links. At most every 30 s.
   */
  private refreshLinks() {
    const now = Date.now();
    if (!this.rt || now - this.linksRefreshedAt < 30_000) return;
    this.linksRefreshedAt = now;
    this.rt.close();
    this.rt = null;
    this.connect();
  }

  // ---- sending ----

  private submit() {
    const body = this.input.value.trim();
    if (!body) return;
    if (this.prechatNeeded && this.prechatCard) {
      this.prechatCard.querySelector('input')?.focus();
      return;
    }
    if (body.length > MAX_BODY) {
      this.showStatus(this.s.tooLong);
      return;
    }
    const client_id = newClientId();
    const created_at = new Date().toISOString();
    this.timeline.upsert({ conversation_id: this.lastConversation ?? '', seq: 0, client_id, author: 'visitor', body, created_at, pending: true });
    this.store.outbox = [...this.store.outbox, { client_id, body, created_at }];
    this.input.value = '';
    this.autosize();
    this.sendBtn.disabled = true;
    this.stopTyping();
    this.render();
    this.scrollToEnd(true);
    if (this.rt) this.dispatch(client_id, body);
    else void this.ensureSession();
  }

  /**
   * Sends the picked files with the typed text (if any) as one message: the
   * bubble shows at once (images previewed), uploads run with the visitor
   * token, then message.send carries the upload ids.
   */
  private attach(files: File[]) {
    if (!files.length) return;
    if (files.length > MAX_ATTACHMENTS) return this.composeError(this.s.tooMany);
    if (files.some((f) => f.size > MAX_UPLOAD_BYTES)) return this.composeError(this.s.tooBig);
    const body = this.input.value.trim();
    if (body.length > MAX_BODY) return this.showStatus(this.s.tooLong);
    this.composeError(null);
    const client_id = newClientId();
    this.files.set(client_id, files);
    this.input.value = '';
    this.autosize();
    this.sendBtn.disabled = true;
    this.stopTyping();
    void this.upload({ conversation_id: this.lastConversation ?? '', seq: 0, client_id, author: 'visitor', body, created_at: new Date().toISOString() });
    this.scrollToEnd(true);
  }

  private async upload(e: Entry) {
    const client_id = e.client_id!;
    const files = this.files.get(client_id) ?? [];
    const previews = files.map((f) => (isImage({ content_type: f.type }) && typeof URL.createObjectURL === 'function' ? URL.createObjectURL(f) : ''));
    const local = files.map((f, i): Attachment => ({ id: '', name: f.name, content_type: f.type, size: f.size, url: previews[i]! }));
    this.timeline.upsert({ ...e, attachments: local, pending: true, uploading: true, failed: undefined });
    this.render();
    try {
      await this.ensureSession();
      if (!this.store.token) throw new Error('no session');
      const attachments = await Promise.all(files.map((f) => this.uploader.uploads.create(f, f.name)));
      this.files.delete(client_id);
      for (const p of previews) {
        if (!p) continue;
        URL.revokeObjectURL(p);
        this.imgs.delete(p);
      }
      this.timeline.upsert({ ...e, attachments, pending: true, uploading: false });
      this.store.outbox = [...this.store.outbox, { client_id, body: e.body, created_at: e.created_at, attachments }];
      if (this.rt) this.dispatch(client_id, e.body, attachments);
      else void this.ensureSession();
    } catch (err) {
      this.timeline.fail(client_id, err instanceof ApiError && err.code === 'too_large' ? this.s.tooBig : this.s.uploadFailed);
    }
    this.render();
  }

  private composeError(text: string | null) {
    clearTimeout(this.composeErrTimer);
    this.composeErr.hidden = !text;
    this.composeErr.textContent = text ?? '';
    if (text) this.composeErrTimer = setTimeout(() => this.composeError(null), 6000);
  }

  private dispatch(client_id: string, body: string, attachments?: Attachment[]) {
    // A visitor leaves out conversation_id: the server opens or continues their conversation.
    this.rt?.sendMessage({ body, client_id, attachments: attachments?.map((a) => a.id) }).acked.catch((err: unknown) => {
      if (err instanceof RealtimeError && err.code === 'closed') return;
      if (err instanceof RealtimeError && err.code === 'prechat_required' && this.prechatCard) {
        // The server wants the form first: the message waits in the composer.
        this.timeline.fail(client_id, this.s.prechatIntro);
        this.dropFromOutbox(client_id);
        this.prechatNeeded = true;
        this.store.prechatDone = false;
        this.render();
        return;
      }
      this.timeline.fail(client_id, err instanceof RealtimeError && err.code === 'too_large' ? this.s.tooLong : this.s.failed);
      this.dropFromOutbox(client_id);
      this.render();
    });
  }

  private retry(e: Entry) {
    if (!e.client_id) return;
    if (this.files.has(e.client_id)) return void this.upload(e); // the upload failed: upload again
    this.timeline.upsert({ ...e, pending: true, failed: undefined });
    this.store.outbox = [...this.store.outbox, { client_id: e.client_id, body: e.body, created_at: e.created_at, attachments: e.attachments }];
    this.render();
    if (this.rt) this.dispatch(e.client_id, e.body, e.attachments);
    else void this.ensureSession();
  }

  private dropFromOutbox(client_id: string) {
    const box = this.store.outbox;
    if (box.some((o) => o.client_id === client_id)) this.store.outbox = box.filter((o) => o.client_id !== client_id);
  }

  private sendTyping() {
    const conv = this.lastConversation;
    if (!conv || !this.rt) return;
    const now = Date.now();
    if (now - this.typingSentAt > 3000) {
      this.typingSentAt = now;
      this.rt.typing(conv, true);
    }
    clearTimeout(this.typingOffTimer);
    this.typingOffTimer = setTimeout(() => this.stopTyping(), 4000);
  }

  private stopTyping() {
    clearTimeout(this.typingOffTimer);
    if (this.typingSentAt && this.lastConversation) this.rt?.typing(this.lastConversation, false);
    this.typingSentAt = 0;
  }

  /**
   * The offline form: the session first (so the visitor keeps their page
   * and language), then the form, whose message reaches the socket like any
   * other. Resolves with whether replies also go by e-mail.
   */
  private async leaveMessage(f: OfflineForm): Promise<boolean> {
    await this.ensureSession();
    const res = await this.api.widget.offline({
      widget_key: this.opts.key,
      visitor_token: this.store.token ?? undefined,
      name: f.name || undefined,
      email: f.email,
      message: f.message,
      client_id: newClientId(),
    });
    if (res.visitor_token !== this.store.token) {
      this.store.token = res.visitor_token;
      this.rt?.close();
      this.rt = null;
      this.connect();
    }
    this.lastConversation = res.conversation_id;
    this.render();
    return res.email_configured;
  }

  // ---- view ----

  private disable(why?: string) {
    this.disabled = true;
    this.rt?.close();
    this.host.style.setProperty('display', 'none', 'important');
    console.warn(why ?? `[kefu] widget disabled: ${this.s.unavailable} (unknown data-key?)`);
  }

  /**
   * Kefu.identify: the visitor is this person (hash from the site's
   * server). The session starts again as them; a wrong hash leaves the
   * visitor anonymous (and says why in the console).
   */
  identify(identity: WidgetIdentity | undefined): Promise<void> {
    this.identity = identity;
    if (this.opts.preview || (this.disabled && !identity)) return Promise.resolve();
    if (this.disabled) {
      // Refused for want of an identity: try again with this one.
      this.disabled = false;
      this.host.style.removeProperty('display');
    }
    this.rt?.close();
    this.rt = null;
    return this.ensureSession();
  }

  /** Kefu.logout: forget this browser's visitor (the site's user signed out). */
  logout(): void {
    this.identity = undefined;
    this.rt?.close();
    this.rt = null;
    this.store.token = null;
    this.store.outbox = [];
    this.store.prechatDone = false;
    this.timeline.clear();
    this.lastConversation = null;
    if (this.prechatCard) this.prechatNeeded = true;
    this.render();
  }

  /** Sends the pre-chat answers; resolves to the server's problems by field (null: stored). */
  private async sendPrechat(a: PrechatAnswers): Promise<Record<string, string> | null> {
    if (this.opts.preview) {
      this.prechatNeeded = false;
      this.render();
      return null;
    }
    await this.ensureSession();
    if (!this.store.token) throw new Error('no session');
    try {
      await this.uploader.widget.prechat(a);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_argument' && err.fields) {
        const out: Record<string, string> = {};
        for (const k of Object.keys(err.fields)) out[k.replace(/^fields\./, '')] = k.includes('email') ? this.s.fieldEmailBad : this.s.fieldRequired;
        return out;
      }
      throw err;
    }
    this.prechatNeeded = false;
    this.store.prechatDone = true;
    this.render();
    setTimeout(() => this.input.focus(), 0);
    return null;
  }

  private markSeen() {
    const seen = { ...this.store.seen };
    let changed = false;
    for (const [conv, seq] of Object.entries(this.timeline.maxSeqs())) {
      if (seq > (seen[conv] ?? 0)) {
        seen[conv] = seq;
        changed = true;
        this.rt?.read(conv, seq);
      }
    }
    if (changed) this.store.seen = seen;
    this.renderBadge();
  }

  private setSub() {
    const text = subline(this.os, { config: this.avail, position: this.queuePos, wait: this.queueWait, now: new Date(), lang: this.opts.lang });
    (this.sub.lastChild as HTMLElement).textContent = text;
    this.sub.setAttribute('data-testid', 'kefu-sub');
    this.dot.classList.toggle('off', !this.agentsOnline || isOffline(this.avail));
  }

  private setTyping(name: string | null) {
    clearTimeout(this.typingTimer);
    this.typingName = name;
    if (name) this.typingTimer = setTimeout(() => this.setTyping(null), 6000);
    this.typingEl.hidden = !name;
    this.typingEl.innerHTML = '<i></i><i></i><i></i>';
    this.typingEl.append(document.createTextNode(name ? fill(this.s.typing, { name }) : ''));
    if (name) this.scrollToEnd(false);
  }

  private showStatus(text: string | null) {
    this.statusBar.hidden = !text;
    this.statusBar.textContent = text ?? '';
  }

  private renderBadge() {
    const n = this.isOpen ? 0 : this.timeline.unread(this.store.seen);
    this.badge.hidden = n === 0;
    this.badge.textContent = n > 99 ? '99+' : String(n);
    this.launcher.setAttribute('aria-label', n ? `${this.isOpen ? this.s.close : this.s.open} (${fill(this.s.unread, { n })})` : this.isOpen ? this.s.close : this.s.open);
  }

  private render() {
    const nearEnd = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const frag = document.createDocumentFragment();
    const greet = el('div', 'm them');
    const gb = el('div', 'b');
    gb.textContent = this.greeting;
    greet.append(gb);
    frag.append(greet);
    for (const e of this.timeline.all()) frag.append(this.renderEntry(e));
    if (this.prechatCard && this.prechatNeeded) frag.append(this.prechatCard);
    this.input.disabled = this.sendBtn.disabled = !!(this.prechatCard && this.prechatNeeded);
    if (!this.input.disabled) this.sendBtn.disabled = !this.input.value.trim();
    for (const [id, st] of this.streams) frag.append(this.renderStream(id, st.text));
    // Nobody can answer and nothing was said yet: the offline form (then its thanks).
    if (this.offlineCard.thanks) frag.append(this.offlineCard.thanks);
    else if (isOffline(this.avail) && !this.timeline.all().length) frag.append(this.offlineCard.el);
    if (this.csatFor) frag.append(this.csatCard);
    else if (this.csatThanks) {
      const d = el('div', 'sys', { 'data-testid': 'kefu-csat-thanks' });
      d.textContent = this.s.csatThanks;
      frag.append(d);
    }
    frag.append(this.typingEl);
    this.list.replaceChildren(frag);
    this.renderBadge();
    this.scrollToEnd(nearEnd);
    void this.typingName;
  }

  private renderEntry(e: Entry): HTMLElement {
    if (e.author === 'system') {
      const d = el('div', 'sys', { 'data-testid': 'kefu-message', 'data-author': 'system' });
      d.textContent = e.body;
      return d;
    }
    const me = e.author === 'visitor';
    const cls = ['m', me ? 'me' : 'them', e.author, e.pending ? 'pending' : '', e.failed ? 'failed' : ''].filter(Boolean).join(' ');
    const d = el('div', cls, { 'data-testid': 'kefu-message', 'data-author': e.author });
    if (e.pending) d.setAttribute('data-pending', 'true');
    if (!me) {
      const who = el('div', 'who');
      if (e.author === 'bot') who.innerHTML = ICON_BOT;
      who.append(document.createTextNode(e.name || (e.author === 'bot' ? this.s.bot : this.s.someone)));
      d.append(who);
    }
    if (e.attachments?.length) d.append(this.renderAttachments(e.attachments));
    if (e.body || !e.attachments?.length) {
      const b = el('div', 'b');
      // Links open in a new tab without the opener; only http(s) and mailto are ever links.
      for (const p of linkify(e.body)) {
        if (!p.href) b.append(document.createTextNode(p.text));
        else {
          const a = el('a', '', { href: p.href, target: '_blank', rel: 'noopener noreferrer' });
          a.textContent = p.text;
          b.append(a);
        }
      }
      d.append(b);
    }
    const meta = el('div', 'meta');
    const time = new Date(e.created_at);
    const hhmm = Number.isNaN(time.getTime()) ? '' : time.toLocaleTimeString(this.opts.lang, { hour: '2-digit', minute: '2-digit' });
    if (e.failed) {
      meta.textContent = e.failed;
      d.addEventListener('click', () => this.retry(e));
      d.setAttribute('role', 'button');
      d.setAttribute('tabindex', '0');
    } else if (me && !e.pending && e.seq > 0 && e.seq <= (this.agentRead[e.conversation_id] ?? 0)) {
      meta.textContent = `${hhmm} · `;
      const seen = el('span', 'seen', { 'data-testid': 'kefu-seen' });
      seen.textContent = `✓✓ ${this.s.seen}`;
      meta.append(seen);
    } else if (me) meta.textContent = `${hhmm} · ${e.uploading ? this.s.uploading : e.pending ? this.s.sending : '✓'}`;
    else meta.textContent = hhmm;
    d.append(meta);
    return d;
  }

  /** A bot answer still arriving: its text so far, with a cursor. */
  private renderStream(id: string, text: string): HTMLElement {
    const d = el('div', 'm them bot streaming', { 'data-testid': 'kefu-stream', 'data-stream': id, 'aria-busy': 'true' });
    const who = el('div', 'who');
    who.innerHTML = ICON_BOT;
    who.append(document.createTextNode(this.s.bot));
    const b = el('div', 'b');
    b.textContent = text;
    d.append(who, b);
    return d;
  }

  /** Images as thumbnails opening the full image in a new tab; other files as a chip with name and size. */
  private renderAttachments(list: Attachment[]): HTMLElement {
    const box = el('div', 'atts');
    for (const a of list) {
      const img = isImage(a);
      const href = attachmentHref(a.url, this.opts.origin);
      // Still uploading: no link yet, only the local preview.
      const item = a.id
        ? el('a', img ? 'img' : 'chip', { href, target: '_blank', rel: 'noopener noreferrer', title: a.name })
        : el('span', img ? 'img' : 'chip', { title: a.name });
      item.setAttribute('data-testid', img ? 'kefu-attachment-image' : 'kefu-attachment-file');
      if (a.id)
        item.addEventListener('click', (ev) => {
          if (!linkExpired(a.url)) return;
          ev.preventDefault();
          this.openWhenFresh = a.id;
          this.refreshLinks();
        });
      if (img && href !== '#') item.append(this.thumb(href, a.name));
      else {
        item.className = 'chip';
        item.innerHTML = ICON_FILE;
        const name = el('span', 'fn');
        name.textContent = a.name;
        const size = el('span', 'fs');
        size.textContent = formatSize(a.size);
        item.append(name, size);
      }
      box.append(item);
    }
    return box;
  }

  private thumb(src: string, alt: string): HTMLImageElement {
    let img = this.imgs.get(src);
    if (!img) {
      img = el('img', '', { src, alt });
      img.addEventListener('error', () => {
        if (linkExpired(src)) this.refreshLinks();
      });
      // A thumbnail that loads after the list scrolled to the end keeps it there.
      img.addEventListener('load', () => {
        const l = this.list;
        if (l.scrollHeight - l.scrollTop - l.clientHeight < 80 + img!.height) this.scrollToEnd(true);
      });
      this.imgs.set(src, img);
    }
    img.alt = alt;
    return img;
  }

  private scrollToEnd(force: boolean) {
    if (force) this.list.scrollTop = this.list.scrollHeight;
  }

  private autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(120, this.input.scrollHeight)}px`;
  }
}

function originWarning(): string {
  return `[kefu] chat widget not shown: this page's origin (${location.origin}) is not in the workspace's allowed origins. An admin can add it in Settings → Widget → Allowed origins.`;
}
