// The pre-chat form: a card in the message list asking the fields the
// workspace configured before the visitor's first message. Required ones
// and e-mail addresses are checked here as well as on the server.
import type { PrechatAnswers, PrechatField, PrechatForm } from '../src/api/types';
import type { WidgetStrings } from './i18n';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function labelOf(s: WidgetStrings, f: PrechatField): string {
  if (f.label) return f.label;
  return f.type === 'name' ? s.fieldName : f.type === 'email' ? s.fieldEmail : f.type === 'phone' ? s.fieldPhone : (f.key ?? '');
}

/** Checks answers by key; returns the problems by key (empty when fine). */
export function checkAnswers(s: WidgetStrings, form: PrechatForm, values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of form.fields) {
    const key = f.key || f.type;
    const v = (values[key] ?? '').trim();
    if (f.required && !v) out[key] = s.fieldRequired;
    else if (f.type === 'email' && v && !EMAIL.test(v)) out[key] = s.fieldEmailBad;
    else if (v.length > 500) out[key] = s.tooLong;
  }
  return out;
}

/** The request body for values keyed by field key. */
export function answersOf(form: PrechatForm, values: Record<string, string>): PrechatAnswers {
  const out: PrechatAnswers = {};
  for (const f of form.fields) {
    const key = f.key || f.type;
    const v = (values[key] ?? '').trim();
    if (!v) continue;
    if (f.type === 'custom') (out.fields ??= {})[key] = v;
    else out[f.type] = v;
  }
  return out;
}

/**
 * Builds the card. submit gets the answers and resolves to the server's
 * problems by field key (null: stored).
 */
export function buildPrechat(s: WidgetStrings, form: PrechatForm, submit: (a: PrechatAnswers) => Promise<Record<string, string> | null>): HTMLFormElement {
  const card = document.createElement('form');
  card.className = 'pre';
  card.noValidate = true;
  card.setAttribute('data-testid', 'kefu-prechat');
  const title = document.createElement('div');
  title.className = 'pre-t';
  title.textContent = s.prechatTitle;
  const intro = document.createElement('div');
  intro.className = 'pre-i';
  intro.textContent = s.prechatIntro;
  card.append(title, intro);
  const inputs = new Map<string, { input: HTMLInputElement; err: HTMLElement }>();
  for (const f of form.fields) {
    const key = f.key || f.type;
    const label = document.createElement('label');
    const text = document.createElement('span');
    text.textContent = labelOf(s, f);
    if (f.required) {
      const star = document.createElement('span');
      star.className = 'req';
      star.textContent = '*';
      star.setAttribute('aria-hidden', 'true');
      text.append(star);
    }
    const input = document.createElement('input');
    input.type = f.type === 'email' ? 'email' : f.type === 'phone' ? 'tel' : 'text';
    input.name = key;
    input.maxLength = f.type === 'name' ? 100 : f.type === 'phone' ? 40 : 500;
    input.autocomplete = f.type === 'name' ? 'name' : f.type === 'email' ? 'email' : f.type === 'phone' ? 'tel' : 'off';
    if (f.required) input.required = true;
    input.setAttribute('data-testid', `kefu-prechat-${key}`);
    const err = document.createElement('span');
    err.className = 'ferr';
    err.setAttribute('role', 'alert');
    err.setAttribute('data-testid', `kefu-prechat-error-${key}`);
    label.append(text, input, err);
    card.append(label);
    inputs.set(key, { input, err });
  }
  const send = document.createElement('button');
  send.type = 'submit';
  send.className = 'csat-send';
  send.textContent = s.prechatStart;
  send.setAttribute('data-testid', 'kefu-prechat-submit');
  const failed = document.createElement('div');
  failed.className = 'ferr';
  failed.setAttribute('role', 'alert');
  card.append(send, failed);
  const show = (problems: Record<string, string>) => {
    let first: HTMLInputElement | null = null;
    for (const [key, { input, err }] of inputs) {
      err.textContent = problems[key] ?? '';
      input.setAttribute('aria-invalid', problems[key] ? 'true' : 'false');
      if (problems[key] && !first) first = input;
    }
    first?.focus();
  };
  card.addEventListener('submit', (e) => {
    e.preventDefault();
    const values: Record<string, string> = {};
    for (const [key, { input }] of inputs) values[key] = input.value;
    const problems = checkAnswers(s, form, values);
    failed.textContent = '';
    show(problems);
    if (Object.keys(problems).length) return;
    send.disabled = true;
    submit(answersOf(form, values)).then(
      (server) => {
        send.disabled = false;
        if (server) show(server);
      },
      () => {
        send.disabled = false;
        failed.textContent = s.prechatFailed;
      },
    );
  });
  return card;
}
