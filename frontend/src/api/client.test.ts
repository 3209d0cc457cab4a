import { describe, expect, it, vi } from 'vitest';
import { createApiClient, fetchAllMessages } from './client';
import { ApiError, codeForStatus, errorFromBody, formFieldErrors } from './errors';
import { MAX_UPLOAD_BYTES, attachmentHref, formatSize, isImage } from './attachments';

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

  describe('uploads', () => {
    const stored = { id: 'up1', name: 'receipt.pdf', content_type: 'application/pdf', size: 5, url: '/api/v1/files/t1/up1?sig=abc' };

    it('posts the file as multipart field "file" with the bearer token and no JSON content type', async () => {
      const fetch = respond(201, stored);
      const api = createApiClient({ fetch, baseUrl: 'https://kefu.example.com', getToken: () => 'kfv_visitor' });
      const file = new File(['%PDF-'], 'receipt.pdf', { type: 'application/pdf' });
      await expect(api.uploads.create(file)).resolves.toEqual(stored);
      const [url, init] = fetch.mock.calls[0]!;
      expect(url).toBe('https://kefu.example.com/api/v1/uploads');
      expect(init?.method).toBe('POST');
      const headers = init?.headers as Record<string, string>;
      expect(headers.Authorization).toBe('Bearer kfv_visitor');
      // The browser must set multipart/form-data with its boundary itself.
      expect(headers['Content-Type']).toBeUndefined();
      expect(init?.body).toBeInstanceOf(FormData);
      const sent = (init!.body as FormData).get('file') as File;
      expect(sent).toBeInstanceOf(Blob);
      expect(sent.name).toBe('receipt.pdf');
      expect(sent.size).toBe(5);
      expect([...(init!.body as FormData).keys()]).toEqual(['file']);
    });

    it('names a bare Blob', async () => {
      const fetch = respond(201, stored);
      await createApiClient({ fetch }).uploads.create(new Blob(['x'], { type: 'image/png' }), 'paste.png');
      expect(((fetch.mock.calls[0]![1]!.body as FormData).get('file') as File).name).toBe('paste.png');
    });

    it("maps the server's 413 onto too_large, with or without the contract body", async () => {
      const file = new File(['x'], 'a.bin');
      const body = { error: { code: 'too_large', message: 'file is over 10 MiB' } };
      await expect(createApiClient({ fetch: respond(413, body) }).uploads.create(file)).rejects.toMatchObject({
        status: 413,
        code: 'too_large',
        message: 'file is over 10 MiB',
      });
      // A proxy's bare 413 page.
      await expect(createApiClient({ fetch: respond(413, '<html>Request Entity Too Large</html>', 'Payload Too Large') }).uploads.create(file)).rejects.toMatchObject({
        status: 413,
        code: 'too_large',
      });
    });

    it('refuses a file over 10 MiB without sending it', async () => {
      const fetch = respond(201, stored);
      const big = new File([new Uint8Array(MAX_UPLOAD_BYTES + 1)], 'big.mov');
      const err = await createApiClient({ fetch })
        .uploads.create(big)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 413, code: 'too_large' });
      expect(fetch).not.toHaveBeenCalled();
      const edge = new File([new Uint8Array(MAX_UPLOAD_BYTES)], 'edge.bin');
      await createApiClient({ fetch }).uploads.create(edge);
      expect(fetch).toHaveBeenCalledTimes(1);
    });

    it('sends attachment ids with a REST message', async () => {
      const fetch = respond(201, { id: 'm1' });
      await createApiClient({ fetch }).conversations.postMessage('c1', { body: '', attachments: ['up1', 'up2'] });
      expect(JSON.parse(String(fetch.mock.calls[0]![1]?.body))).toEqual({ body: '', attachments: ['up1', 'up2'] });
    });
  });

  it('attachment helpers: kinds, sizes and safe links', () => {
    expect(isImage({ content_type: 'image/png' })).toBe(true);
    expect(isImage({ content_type: 'IMAGE/JPEG' })).toBe(true);
    expect(isImage({ content_type: 'image/svg+xml' })).toBe(false);
    expect(isImage({ content_type: 'application/pdf' })).toBe(false);
    expect(isImage({ content_type: '' })).toBe(false);
    expect([0, 532, 2048, 15_000, 1_300_000, 10 * 1024 * 1024].map(formatSize)).toEqual(['0 B', '532 B', '2.0 KB', '15 KB', '1.2 MB', '10 MB']);
    expect(attachmentHref('/api/v1/files/t/1?sig=x', 'https://kefu.example.com/')).toBe('https://kefu.example.com/api/v1/files/t/1?sig=x');
    expect(attachmentHref('/api/v1/files/t/1?sig=x')).toBe('/api/v1/files/t/1?sig=x');
    expect(attachmentHref('https://cdn.example.com/f.png', 'https://kefu.example.com')).toBe('https://cdn.example.com/f.png');
    expect(attachmentHref('blob:https://shop.example/123')).toBe('blob:https://shop.example/123');
    expect(attachmentHref('javascript:alert(1)')).toBe('#');
    expect(attachmentHref('//evil.example/x')).toBe('#');
    expect(attachmentHref(undefined)).toBe('#');
  });
});
