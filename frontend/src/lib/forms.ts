import type { FormInstance } from 'antd';
import { errorMessage, formFieldErrors } from '../api';

/**
 * Puts a failed request's per-field messages on the form's items and returns
 * what to show above the form (null when every problem sits on an item).
 */
export function applyFormError<T, K extends string & keyof T>(form: FormInstance<T>, err: unknown, known: readonly K[], fallback: string): string | null {
  const { items, rest } = formFieldErrors(err, known);
  form.setFields(items.map((i) => ({ name: i.name as never, errors: i.errors })));
  if (items.length === 0) return errorMessage(err, fallback);
  return rest.length ? rest.join('; ') : null;
}
