import { describe, expect, it, vi } from 'vitest';
import { answersOf, buildPrechat, checkAnswers } from './prechat';
import { cleanIdentity } from './identify';
import { pickStrings } from './i18n';
import type { PrechatForm } from '../src/api/types';

const form: PrechatForm = {
  enabled: true,
  fields: [{ type: 'name', required: true }, { type: 'email', required: true }, { type: 'phone' }, { type: 'custom', key: 'order_no', label: 'Order number', required: true }],
};

describe('the pre-chat form', () => {
  const en = pickStrings('en');

  it('flags empty required fields and bad e-mails, in the widget language', () => {
    expect(checkAnswers(en, form, {})).toEqual({ name: en.fieldRequired, email: en.fieldRequired, order_no: en.fieldRequired });
    expect(checkAnswers(en, form, { name: 'Pia', email: 'pia@', order_no: 'A1' })).toEqual({ email: en.fieldEmailBad });
    const zh = pickStrings('zh-CN');
    expect(checkAnswers(zh, form, { email: 'x' }).name).toBe('必填');
    expect(checkAnswers(en, form, { name: 'Pia', email: 'pia@example.com', order_no: 'A1' })).toEqual({});
  });

  it('sends built-in answers as fields of the contact and custom ones by key, leaving out empty ones', () => {
    expect(answersOf(form, { name: ' Pia ', email: 'pia@example.com', phone: '', order_no: 'A1' })).toEqual({
      name: 'Pia',
      email: 'pia@example.com',
      fields: { order_no: 'A1' },
    });
  });

  it('does not submit until the required fields are answered, then shows what the server refused', async () => {
    const submit = vi.fn(async () => ({ email: 'taken' }));
    const card = buildPrechat(en, form, submit);
    document.body.append(card);
    const input = (k: string) => card.querySelector<HTMLInputElement>(`[data-testid="kefu-prechat-${k}"]`)!;
    card.requestSubmit();
    expect(submit).not.toHaveBeenCalled();
    expect(card.querySelector('[data-testid="kefu-prechat-error-name"]')!.textContent).toBe(en.fieldRequired);
    input('name').value = 'Pia';
    input('email').value = 'pia@example.com';
    input('order_no').value = 'A-1';
    card.requestSubmit();
    expect(submit).toHaveBeenCalledWith({ name: 'Pia', email: 'pia@example.com', fields: { order_no: 'A-1' } });
    await new Promise((r) => setTimeout(r, 0));
    expect(card.querySelector('[data-testid="kefu-prechat-error-email"]')!.textContent).toBe('taken');
    expect(card.querySelector('label')!.textContent).toContain(en.fieldName);
    card.remove();
  });
});

describe('Kefu.identify input', () => {
  it('keeps an id and the known fields, trimmed, and refuses what has no id', () => {
    expect(cleanIdentity({ id: ' u1 ', name: 'Ida', hash: 'ab', extra: 1 })).toEqual({ id: 'u1', name: 'Ida', hash: 'ab' });
    expect(cleanIdentity({ id: 42, hash: 'ab' })).toEqual({ id: '42', hash: 'ab' });
    expect(cleanIdentity({ name: 'no id' })).toBeUndefined();
    expect(cleanIdentity('u1')).toBeUndefined();
  });
});
