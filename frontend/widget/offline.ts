// Who can answer, and when: the header line (business hours, the honest
// expected wait, the place in line) and the offline form shown when nobody
// can answer now. Kept apart from widget.ts, with its own strings, so the
// widget's core stays small and readable.
import type { WidgetConfig } from '../src/api/types';

const en = {
  online: 'We are online',
  away: 'We are away right now. Leave a message and we will reply.',
  closed: 'Closed now',
  closedOpens: 'Closed now · opens {when}',
  expected: 'Expected wait about {t}',
  waiting: '{n} waiting ahead of you',
  queue: 'You are number {n} in line',
  queueWait: 'You are number {n} in line · about {t}',
  underMinute: 'under a minute',
  minutes: '{n} min',
  hours: '{h} h {m} min',
  formTitle: 'Leave us a message',
  formAway: 'Nobody is available right now. Leave your e-mail and we will get back to you.',
  formClosed: 'We are closed right now and open {when}. Leave your e-mail and we will get back to you.',
  name: 'Name (optional)',
  email: 'E-mail',
  message: 'Message',
  send: 'Send message',
  sending: 'Sending…',
  badEmail: 'Enter a valid e-mail address.',
  noMessage: 'Write your message.',
  failed: 'Not sent. Try again.',
  thanksMail: 'Thanks! We will reply here and by e-mail to {email}.',
  thanksHere: 'Thanks! Our reply will appear here, so come back to this page.',
};
export type OfflineStrings = typeof en;

const zh: OfflineStrings = {
  online: '客服在线',
  away: '客服暂时不在，请留言，我们会尽快回复。',
  closed: '当前非工作时间',
  closedOpens: '当前非工作时间 · {when}开始服务',
  expected: '预计等待约 {t}',
  waiting: '前面还有 {n} 位在等待',
  queue: '您前面还有 {n} 位',
  queueWait: '您前面还有 {n} 位 · 预计约 {t}',
  underMinute: '不到 1 分钟',
  minutes: '{n} 分钟',
  hours: '{h} 小时 {m} 分钟',
  formTitle: '给我们留言',
  formAway: '客服暂时不在。留下邮箱，我们会尽快回复您。',
  formClosed: '现在不在服务时间，{when}开始服务。留下邮箱，我们会尽快回复您。',
  name: '称呼（选填）',
  email: '邮箱',
  message: '留言内容',
  send: '提交留言',
  sending: '提交中…',
  badEmail: '请输入有效的邮箱地址。',
  noMessage: '请填写留言内容。',
  failed: '提交失败，请重试。',
  thanksMail: '谢谢！我们会在这里并通过邮件（{email}）回复您。',
  thanksHere: '谢谢！回复会显示在这里，请稍后回到本页面查看。',
};

export function offlineStrings(lang: string | undefined): OfflineStrings {
  return (lang ?? '').toLowerCase().startsWith('zh') ? zh : en;
}

function fill(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''));
}

/** A wait in words: "under a minute", "7 min", "1 h 35 min". */
export function waitText(s: OfflineStrings, seconds: number): string {
  if (seconds < 60) return s.underMinute;
  const min = Math.round(seconds / 60);
  if (min < 60) return fill(s.minutes, { n: min });
  return fill(s.hours, { h: Math.floor(min / 60), m: min % 60 });
}

/** When the business opens, in the visitor's own time zone: "at 09:00" today, else with the weekday. */
export function opensText(next: string, now: Date, lang: string | undefined): string {
  const at = new Date(next);
  if (Number.isNaN(at.getTime())) return '';
  const zhLang = (lang ?? '').toLowerCase().startsWith('zh');
  const locale = zhLang ? 'zh-CN' : 'en';
  const time = at.toLocaleTimeString(locale, {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  });
  const sameDay = at.toDateString() === now.toDateString();
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).toDateString() === at.toDateString();
  if (zhLang) return sameDay ? `今天 ${time} ` : tomorrow ? `明天 ${time} ` : `${at.toLocaleDateString(locale, { weekday: 'short', month: 'numeric', day: 'numeric' })} ${time} `;
  if (sameDay) return `at ${time}`;
  if (tomorrow) return `tomorrow at ${time}`;
  return `${at.toLocaleDateString(locale, { weekday: 'short', month: 'short', day: 'numeric' })} at ${time}`;
}

export interface Availability {
  config: WidgetConfig | null;
  /** The visitor's place in line (0: not queued) and its estimate (null: unknown). */
  position: number;
  wait: number | null;
  now: Date;
  lang?: string;
}

/** Whether nobody can answer now (no agent online, or outside the business hours). */
export function isOffline(c: WidgetConfig | null): boolean {
  if (!c) return false;
  if (typeof c.offline === 'boolean') return c.offline;
  return typeof c.agents_online === 'number' ? c.agents_online === 0 : !c.agents_online;
}

/**
 * The header's line. Never a promise the numbers do not back: a place in
 * line with its estimate when known; closed with the next opening; the
 * expected wait for a newcomer when known; otherwise only facts.
 */
export function subline(s: OfflineStrings, a: Availability): string {
  const c = a.config;
  if (a.position > 0) return a.wait != null ? fill(s.queueWait, { n: a.position, t: waitText(s, a.wait) }) : fill(s.queue, { n: a.position });
  const h = c?.business_hours;
  if (h && !h.open_now)
    return h.next_open_at
      ? fill(s.closedOpens, {
          when: opensText(h.next_open_at, a.now, a.lang),
        }).trim()
      : s.closed;
  if (isOffline(c)) return s.away;
  const q = c?.queue;
  if (q && q.expected_wait_seconds != null) return fill(s.expected, { t: waitText(s, q.expected_wait_seconds) });
  if (q && q.length > 0) return fill(s.waiting, { n: q.length });
  return s.online;
}

export interface OfflineForm {
  name: string;
  email: string;
  message: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The form's problems by field (empty: it may be sent). */
export function checkForm(s: OfflineStrings, f: OfflineForm): Partial<Record<keyof OfflineForm, string>> {
  const out: Partial<Record<keyof OfflineForm, string>> = {};
  if (!EMAIL.test(f.email.trim()) || f.email.trim().length > 254) out.email = s.badEmail;
  if (!f.message.trim()) out.message = s.noMessage;
  return out;
}

export const offlineCss = `
.off { align-self: stretch; background: #fff; border: 1px solid #ececec; border-radius: 12px; padding: 12px; display: flex; flex-direction: column; gap: 6px; }
.off-t { font-weight: 600; }
.off-i { font-size: 13px; color: #595959; margin: 0 0 4px; }
.off label { font-size: 12px; color: #595959; display: flex; flex-direction: column; gap: 2px; }
.off input, .off textarea { border: 1px solid #d9d9d9; border-radius: 8px; padding: 6px 8px; font: inherit; color: inherit; background: #fff; max-height: none; min-height: 0; }
.off input:focus, .off textarea:focus { outline: 2px solid currentColor; outline-offset: 0; }
.off .e { color: #a8071a; font-size: 12px; }
.off .e:empty { display: none; }
.off-thanks { align-self: stretch; text-align: center; font-size: 13px; color: #262626; background: #f6ffed; border: 1px solid #b7eb8f; border-radius: 10px; padding: 8px 10px; }
`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, attrs?: Record<string, string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/**
 * The offline form as a card in the message list. send resolves with
 * whether replies will also go by e-mail, or rejects (the card then says it
 * was not sent and keeps what was typed).
 */
export class OfflineCard {
  readonly el: HTMLFormElement;
  private readonly intro: HTMLElement;
  private readonly inputs: Record<keyof OfflineForm, HTMLInputElement | HTMLTextAreaElement>;
  private readonly errs: Record<keyof OfflineForm | 'form', HTMLElement>;
  private readonly btn: HTMLButtonElement;
  /** The thanks line once sent (null before). */
  thanks: HTMLElement | null = null;

  constructor(
    private readonly s: OfflineStrings,
    private readonly send: (f: OfflineForm) => Promise<boolean>,
    /** Called once sent, to render the thanks in the form's place. */
    private readonly sent: () => void,
  ) {
    this.el = el('form', 'off', {
      'data-testid': 'kefu-offline',
      novalidate: '',
    });
    const title = el('div', 'off-t');
    title.textContent = s.formTitle;
    this.intro = el('p', 'off-i');
    this.intro.textContent = s.formAway;
    const field = (key: keyof OfflineForm, label: string, input: HTMLInputElement | HTMLTextAreaElement) => {
      const l = el('label');
      const err = el('span', 'e', {
        role: 'alert',
        'data-testid': `kefu-offline-${key}-error`,
      });
      input.setAttribute('data-testid', `kefu-offline-${key}`);
      l.append(document.createTextNode(label), input, err);
      return { l, err };
    };
    const name = el('input', '', {
      type: 'text',
      maxlength: '100',
      autocomplete: 'name',
    });
    const email = el('input', '', {
      type: 'email',
      maxlength: '254',
      autocomplete: 'email',
      required: '',
    });
    const message = el('textarea', '', {
      rows: '3',
      maxlength: '8000',
      required: '',
    });
    const fName = field('name', s.name, name);
    const fEmail = field('email', s.email, email);
    const fMsg = field('message', s.message, message);
    this.inputs = { name, email, message };
    const formErr = el('div', 'e', { role: 'alert' });
    this.errs = {
      name: fName.err,
      email: fEmail.err,
      message: fMsg.err,
      form: formErr,
    };
    this.btn = el('button', 'csat-send', {
      type: 'submit',
      'data-testid': 'kefu-offline-send',
    });
    this.btn.textContent = s.send;
    this.el.append(title, this.intro, fName.l, fEmail.l, fMsg.l, formErr, this.btn);
    // Keys typed here stay in the widget.
    this.el.addEventListener('keydown', (e) => e.stopPropagation());
    this.el.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  /** Says why nobody answers now: away, or closed until when. */
  setReason(c: WidgetConfig | null, now: Date, lang?: string) {
    const h = c?.business_hours;
    this.intro.textContent =
      h && !h.open_now && h.next_open_at
        ? fill(this.s.formClosed, {
            when: opensText(h.next_open_at, now, lang),
          }).replace(/\s+([，。])/g, '$1')
        : this.s.formAway;
  }

  private values(): OfflineForm {
    return {
      name: this.inputs.name.value.trim(),
      email: this.inputs.email.value.trim(),
      message: this.inputs.message.value.trim(),
    };
  }

  async submit(): Promise<void> {
    const f = this.values();
    const problems = checkForm(this.s, f);
    for (const k of ['name', 'email', 'message'] as const) {
      this.errs[k].textContent = problems[k] ?? '';
      this.inputs[k].setAttribute('aria-invalid', String(!!problems[k]));
    }
    this.errs.form.textContent = '';
    const first = (['email', 'message'] as const).find((k) => problems[k]);
    if (first) {
      this.inputs[first].focus();
      return;
    }
    this.btn.disabled = true;
    this.btn.textContent = this.s.sending;
    try {
      const mailed = await this.send(f);
      this.thanks = el('div', 'off-thanks', {
        role: 'status',
        'data-testid': 'kefu-offline-thanks',
      });
      this.thanks.textContent = mailed ? fill(this.s.thanksMail, { email: f.email }) : this.s.thanksHere;
      this.sent();
    } catch {
      this.errs.form.textContent = this.s.failed;
    } finally {
      this.btn.disabled = false;
      this.btn.textContent = this.s.send;
    }
  }
}
