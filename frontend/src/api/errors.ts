// ApiError is what every failed call of the API client throws: the server's
// {"error":{code,message,fields}} body, or a synthetic one for network faults
// and bodies that are not the contract's shape.
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export const NETWORK_ERROR = 'network';
export const UNKNOWN_ERROR = 'unknown';

/** Builds an ApiError from a non-2xx status and its (possibly empty or non-JSON) body text. */
export function errorFromBody(status: number, statusText: string, text: string): ApiError {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const err = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  if (err) {
    const code = typeof err.code === 'string' && err.code ? err.code : codeForStatus(status);
    const message = typeof err.message === 'string' && err.message ? err.message : statusText || code;
    return new ApiError(status, code, message, normalizeFields(err.fields));
  }
  return new ApiError(status, codeForStatus(status), statusText || `HTTP ${status}`);
}

/** The contract's code for a status, used when the body does not carry one. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_argument';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'permission_denied';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'too_large';
    case 422:
      return 'invalid_flow';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'internal' : UNKNOWN_ERROR;
  }
}

function normalizeFields(fields: unknown): Record<string, string> {
  if (!isRecord(fields)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x) => typeof x === 'string').join('; ');
    else if (isRecord(v) && typeof v.message === 'string') out[k] = v.message;
    else if (v != null) out[k] = String(v);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Splits an error's per-field messages into those addressed to known form
 * items (for antd Form.setFields) and a remainder to show above the form.
 */
export function formFieldErrors<K extends string>(err: unknown, known: readonly K[]): { items: { name: K; errors: string[] }[]; rest: string[] } {
  if (!(err instanceof ApiError)) return { items: [], rest: [] };
  const items: { name: K; errors: string[] }[] = [];
  const rest: string[] = [];
  for (const [name, msg] of Object.entries(err.fields)) {
    if ((known as readonly string[]).includes(name)) items.push({ name: name as K, errors: [msg] });
    else rest.push(`${name}: ${msg}`);
  }
  return { items, rest };
}

/** The message to show the user for any thrown value. */
export function errorMessage(err: unknown, fallback: string): string {
  if (err instanceof ApiError) return err.message || fallback;
  if (err instanceof Error && err.message) return err.message;
  return fallback;
}
