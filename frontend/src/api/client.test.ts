import { describe, expect, it, vi } from 'vitest';
import { createApiClient, fetchAllMessages } from './client';
import { ApiError, codeForStatus, errorFromBody, formFieldErrors } from './errors';

function respond(status: number, body?: unknown, statusText = '') {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(status === 204 ? null : text, { status, statusText }));
}

describe('API client', () => {
  it('sends JSON with the bearer token and decodes the answer', async () => {
    const fetch = respond(201, { token: 't', user: { id: 'u1' }, tenant: { slug: 'acme' } });
    const api = createApiClient({ fetch, getToken: () => 'abc' });
    const res = await api.signup({ company: 'Acme', name: 'Ann', email: 'a@x.io', password: 'secret123' });
    expect(res.token).toBe('t');
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/v1/signup');
    expect(init?.method).toBe('POST');
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer abc');
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(JSON.parse(String(init?.body))).toEqual({ company: 'Acme', name: 'Ann', email: 'a@x.io', password: 'secret123' });
  });

  it('maps the contract error body onto ApiError with per-field messages', async () => {
    const fetch = respond(400, { error: { code: 'invalid_argument', message: 'check the form', fields: { email: 'is taken', password: ['too short'] } } });
    const api = createApiClient({ fetch });
    const err = await api.login({ tenant: 'acme', email: 'a', password: 'b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_argument', message: 'check the form', fields: { email: 'is taken', password: 'too short' } });
  });

  it('falls back to a code for the status when the body is not the contract shape', async () => {
    const api = createApiClient({ fetch: respond(502, '<html>bad gateway</html>', 'Bad Gateway') });
    await expect(api.me()).rejects.toMatchObject({ status: 502, code: 'internal', message: 'Bad Gateway' });
    expect(errorFromBody(409, '', '')).toMatchObject({ code: 'conflict', message: 'HTTP 409' });
    expect(codeForStatus(429)).toBe('rate_limited');
    expect(codeForStatus(404)).toBe('not_found');
  });

  it('turns a failed fetch into a network ApiError', async () => {
    const api = createApiClient({
      fetch: vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    });
    await expect(api.me()).rejects.toMatchObject({ status: 0, code: 'network', message: 'Failed to fetch' });
  });

  it('calls onUnauthorized on 401 only when a token was sent', async () => {
    const onUnauthorized = vi.fn();
    const body = { error: { code: 'unauthenticated', message: 'wrong password' } };
    const anon = createApiClient({ fetch: respond(401, body), onUnauthorized, getToken: () => null });
    await expect(anon.login({ tenant: 'a', email: 'b', password: 'c' })).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(onUnauthorized).not.toHaveBeenCalled();
    const signedIn = createApiClient({ fetch: respond(401, body), onUnauthorized, getToken: () => 'expired' });
    await expect(signedIn.me()).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('accepts 204 without a body and builds query strings without empty values', async () => {
    const fetch = respond(204);
    const api = createApiClient({ fetch, baseUrl: 'https://kefu.example.com/' });
    await expect(api.apiKeys.revoke('k/1')).resolves.toBeUndefined();
    expect(fetch.mock.calls[0]![0]).toBe('https://kefu.example.com/api/v1/api-keys/k%2F1');
    const list = respond(200, { conversations: [], next_cursor: null });
    await createApiClient({ fetch: list }).conversations.list({ status: 'queued', assignee: '', limit: 50 });
    expect(list.mock.calls[0]![0]).toBe('/api/v1/conversations?status=queued&limit=50');
  });

  it('reads every page of messages', async () => {
    const page = (from: number, n: number) => ({ messages: Array.from({ length: n }, (_, i) => ({ seq: from + i })) });
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(new Response(JSON.stringify(page(1, 2))))
      .mockResolvedValueOnce(new Response(JSON.stringify(page(3, 2))))
      .mockResolvedValueOnce(new Response(JSON.stringify(page(5, 1))));
    const api = createApiClient({ fetch });
    const all = await fetchAllMessages(api, 'c1', 2);
    expect(all.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(String(fetch.mock.calls[1]![0])).toContain('after_seq=2');
  });

  it("reads a conversation's events, an absent list being empty", async () => {
    const ev = { id: 'e1', kind: 'routing', detail: { action: 'queue', trace: [] }, created_at: '2024-05-01T08:30:00Z' };
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(new Response(JSON.stringify({ events: [ev] })))
      .mockResolvedValueOnce(new Response(JSON.stringify({ events: null })));
    const api = createApiClient({ fetch });
    expect(await api.conversations.events('c/1')).toEqual([ev]);
    expect(fetch.mock.calls[0]![0]).toBe('/api/v1/conversations/c%2F1/events');
    expect(fetch.mock.calls[0]![1]).toMatchObject({ method: 'GET' });
    expect(await api.conversations.events('c1')).toEqual([]);
  });

  it('calls the flow endpoints: publish with no body, rollback and get with a version', async () => {
    const flow = { id: 'f/1', name: 'F', version: 2 };
    const fetch = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => new Response(JSON.stringify(flow), { status: 200 }));
    const api = createApiClient({ fetch });
    await api.flows.publish('f/1');
    expect(fetch.mock.calls[0]![0]).toBe('/api/v1/flows/f%2F1/publish');
    expect(fetch.mock.calls[0]![1]?.body).toBeUndefined();
    await api.flows.rollback('f/1', 1);
    expect(JSON.parse(String(fetch.mock.calls[1]![1]?.body))).toEqual({ version: 1 });
    await api.flows.get('f/1', 3);
    expect(fetch.mock.calls[2]![0]).toBe('/api/v1/flows/f%2F1?version=3');
    await api.flows.get('f/1');
    expect(fetch.mock.calls[3]![0]).toBe('/api/v1/flows/f%2F1');
  });

  it('maps a rejected flow onto per-node fields', async () => {
    const body = { error: { code: 'invalid_flow', message: 'the flow does not validate', fields: { cond: 'expression: unexpected token', graph: 'a flow needs one start node' } } };
    const api = createApiClient({ fetch: respond(422, body) });
    await expect(api.flows.update('f1', { name: 'F', graph: { nodes: [], edges: [] } })).rejects.toMatchObject({
      status: 422,
      code: 'invalid_flow',
      fields: { cond: 'expression: unexpected token', graph: 'a flow needs one start node' },
    });
  });

  it('splits field errors into form items and the rest', () => {
    const err = new ApiError(400, 'invalid_argument', 'bad', { email: 'taken', company: 'required', other: 'odd' });
    expect(formFieldErrors(err, ['email', 'company'])).toEqual({
      items: [
        { name: 'email', errors: ['taken'] },
        { name: 'company', errors: ['required'] },
      ],
      rest: ['other: odd'],
    });
    expect(formFieldErrors(new Error('x'), ['email'])).toEqual({ items: [], rest: [] });
  });
});
