import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import i18n from '../i18n';
import { Composer } from './Composer';
import { renderWithApp, jsonResponse } from '../test/render';
import { useRealtime } from '../stores/realtime';
import { keys } from '../realtime/keys';
import type { ThreadMessage } from '../realtime/cache';
import type { Conversation, User } from '../api';
import type { RealtimeClient } from '../ws/client';

const me: User = { id: 'u1', email: 'ann@acme.io', name: 'Ann', role: 'agent' };
const conv: Conversation = {
  id: 'c1',
  status: 'assigned',
  visitor: { id: 'v1' },
  assignee_id: 'u1',
  last_seq: 1,
  created_at: '2024-01-01T00:00:00Z',
  updated_at: '2024-01-01T00:00:00Z',
};

function fakeClient() {
  let resolveAck: (a: unknown) => void = () => undefined;
  const client = {
    sendMessage: vi.fn((m: { client_id: string }) => ({
      client_id: m.client_id,
      acked: new Promise((r) => {
        resolveAck = r;
      }),
    })),
    typing: vi.fn(),
    markSeen: vi.fn(),
  };
  useRealtime.getState().set({ client: client as unknown as RealtimeClient, status: 'open' });
  return { client, ack: (a: unknown) => resolveAck(a) };
}

describe('Composer', () => {
  beforeEach(() => i18n.changeLanguage('en'));
  afterEach(() => {
    useRealtime.getState().set({ client: null, status: 'idle' });
    vi.unstubAllGlobals();
  });

  it('sends on Enter, optimistically, and marks the reply stored on ack', async () => {
    const { client, ack } = fakeClient();
    const { client: qc } = renderWithApp(<Composer conversation={conv} me={me} />);
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: '  Hello there  ' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(client.sendMessage).toHaveBeenCalledTimes(1);
    const sent = client.sendMessage.mock.calls[0]![0] as unknown as { body: string; conversation_id: string; client_id: string };
    expect(sent).toMatchObject({ body: 'Hello there', conversation_id: 'c1' });
    expect((input as HTMLTextAreaElement).value).toBe('');
    const pending = qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))!;
    expect(pending).toMatchObject([{ body: 'Hello there', pending: true, client_id: sent.client_id, author: { type: 'agent', id: 'u1' } }]);
    ack({ type: 'ack', client_id: sent.client_id, conversation_id: 'c1', seq: 2, message_id: 'm2' });
    await waitFor(() => expect(qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))![0]).toMatchObject({ seq: 2, id: 'm2', pending: false }));
  });

  it('keeps Shift+Enter for a new line and ignores Enter while composing Chinese', () => {
    const { client } = fakeClient();
    renderWithApp(<Composer conversation={conv} me={me} />);
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: '第一行' } });
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    fireEvent.keyDown(input, { key: 'Enter', keyCode: 229 });
    expect(client.sendMessage).not.toHaveBeenCalled();
  });

  it('posts internal notes over REST as private and never sends typing for them', async () => {
    const { client } = fakeClient();
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      return jsonResponse(201, {
        id: 'm9',
        conversation_id: 'c1',
        seq: 9,
        client_id: body.client_id,
        author: { type: 'agent', id: 'u1', name: 'Ann' },
        body: body.body,
        private: true,
        created_at: '2024-01-01T00:00:09Z',
      });
    });
    vi.stubGlobal('fetch', fetch);
    const { client: qc } = renderWithApp(<Composer conversation={conv} me={me} />);
    fireEvent.click(screen.getByTestId('composer-mode-note'));
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: 'VIP, be nice' } });
    expect(client.typing).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId('composer-send'));
    expect(client.sendMessage).not.toHaveBeenCalled();
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('/api/v1/conversations/c1/messages');
    expect(JSON.parse(String(init?.body))).toMatchObject({ body: 'VIP, be nice', private: true });
    await waitFor(() => expect(qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))).toMatchObject([{ seq: 9, private: true, pending: false }]));
  });

  it('sends on Ctrl+Enter too, and never resolves', () => {
    const { client } = fakeClient();
    const fetch = vi.fn(async (_url: string) => jsonResponse(500, {}));
    vi.stubGlobal('fetch', fetch);
    renderWithApp(<Composer conversation={conv} me={me} />);
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: 'Done?' } });
    fireEvent.keyDown(input, { key: 'Enter', ctrlKey: true });
    expect(client.sendMessage).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls.some(([url]) => String(url).includes('/resolve'))).toBe(false);
  });

  it('sends a note once: the next message is a reply again', async () => {
    const { client } = fakeClient();
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body));
      return jsonResponse(201, {
        id: 'm9',
        conversation_id: 'c1',
        seq: 9,
        client_id: body.client_id,
        author: { type: 'agent', id: 'u1', name: 'Ann' },
        body: body.body,
        private: true,
        created_at: '2024-01-01T00:00:09Z',
      });
    });
    vi.stubGlobal('fetch', fetch);
    renderWithApp(<Composer conversation={conv} me={me} />);
    fireEvent.click(screen.getByTestId('composer-mode-note'));
    expect(screen.getByTestId('composer').className).toContain('composer-note');
    const input = screen.getByTestId('composer-input');
    fireEvent.change(input, { target: { value: 'internal' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    expect(screen.getByTestId('composer').className).not.toContain('composer-note');
    fireEvent.change(input, { target: { value: 'to the visitor' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(client.sendMessage).toHaveBeenCalledTimes(1);
    expect(client.sendMessage.mock.calls[0]![0]).toMatchObject({ body: 'to the visitor' });
  });

  it('inserts a canned reply with its variables filled in on /', async () => {
    fakeClient();
    const fetch = vi.fn(async () =>
      jsonResponse(200, { canned_replies: [{ id: 'r1', shortcut: 'hello', body: 'Hi {{visitor.name}}, {{agent.name}} here', scope: 'tenant', created_at: '', updated_at: '' }] }),
    );
    vi.stubGlobal('fetch', fetch);
    renderWithApp(<Composer conversation={{ ...conv, visitor: { id: 'v1', name: 'Lin' } }} me={me} />);
    const input = screen.getByTestId('composer-input') as HTMLTextAreaElement;
    fireEvent.change(input, { target: { value: '/hel', selectionStart: 4 } });
    await waitFor(() => expect(screen.getAllByTestId('canned-item')).toHaveLength(1));
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(input.value).toBe('Hi Lin, Ann here');
    fireEvent.change(input, { target: { value: '' } }); // drafts outlive the component
  });

  describe('attachments', () => {
    const stored = (name: string, type: string, id = 'up1') => ({ id, name, content_type: type, size: 4, url: `/api/v1/files/t1/${id}?sig=s` });

    function uploadServer(answer: (file: File) => Response | Promise<Response>) {
      const fetch = vi.fn(async (url: string, init?: RequestInit) => {
        if (url === '/api/v1/uploads') return answer((init!.body as FormData).get('file') as File);
        return jsonResponse(404, { error: { code: 'not_found', message: 'no' } });
      });
      vi.stubGlobal('fetch', fetch);
      return fetch;
    }

    it('uploads a picked file at once and sends its id with the reply', async () => {
      const { client } = fakeClient();
      const fetch = uploadServer((f) => jsonResponse(201, stored(f.name, f.type)));
      const { client: qc } = renderWithApp(<Composer conversation={conv} me={me} />);
      const file = new File(['abcd'], 'label.pdf', { type: 'application/pdf' });
      fireEvent.change(screen.getByTestId('composer-file'), { target: { files: [file] } });
      const item = await screen.findByTestId('composer-file-item');
      expect(item.textContent).toContain('label.pdf');
      await waitFor(() => expect(item.getAttribute('data-status')).toBe('done'));
      const [, init] = fetch.mock.calls[0]!;
      expect((init!.headers as Record<string, string>).Authorization).toBeUndefined(); // signed out in this test
      expect(((init!.body as FormData).get('file') as File).name).toBe('label.pdf');
      // Attachment only: Send is enabled without text.
      const send = screen.getByTestId('composer-send');
      expect((send as HTMLButtonElement).disabled).toBe(false);
      fireEvent.click(send);
      expect(client.sendMessage).toHaveBeenCalledTimes(1);
      expect(client.sendMessage.mock.calls[0]![0]).toMatchObject({ conversation_id: 'c1', body: '', attachments: ['up1'] });
      expect(screen.queryByTestId('composer-file-item')).toBeNull();
      expect(qc.getQueryData<ThreadMessage[]>(keys.messages('c1'))).toMatchObject([{ body: '', pending: true, attachments: [stored('label.pdf', 'application/pdf')] }]);
    });

    it('attaches files dropped on the composer and sends them with the text', async () => {
      const { client } = fakeClient();
      let n = 0;
      uploadServer((f) => jsonResponse(201, stored(f.name, f.type, `up${++n}`)));
      renderWithApp(<Composer conversation={conv} me={me} />);
      const composer = screen.getByTestId('composer');
      const files = [new File(['png'], 'a.png', { type: 'image/png' }), new File(['txt'], 'b.txt', { type: 'text/plain' })];
      fireEvent.dragOver(composer, { dataTransfer: { types: ['Files'], files } });
      expect(composer.className).toContain('composer-dragging');
      fireEvent.drop(composer, { dataTransfer: { types: ['Files'], files } });
      expect(composer.className).not.toContain('composer-dragging');
      await waitFor(() => expect(screen.getAllByTestId('composer-file-item').map((i) => i.getAttribute('data-status'))).toEqual(['done', 'done']));
      const input = screen.getByTestId('composer-input');
      fireEvent.change(input, { target: { value: 'Both files' } });
      fireEvent.keyDown(input, { key: 'Enter' });
      expect(client.sendMessage.mock.calls[0]![0]).toMatchObject({ body: 'Both files', attachments: ['up1', 'up2'] });
    });

    it('waits for uploads before sending', async () => {
      const { client } = fakeClient();
      let finish: (r: Response) => void = () => undefined;
      uploadServer(() => new Promise<Response>((r) => (finish = r)));
      renderWithApp(<Composer conversation={conv} me={me} />);
      fireEvent.change(screen.getByTestId('composer-file'), { target: { files: [new File(['x'], 'slow.zip')] } });
      const item = await screen.findByTestId('composer-file-item');
      expect(item.getAttribute('data-status')).toBe('uploading');
      expect(item.textContent).toContain('Uploading');
      const input = screen.getByTestId('composer-input');
      fireEvent.change(input, { target: { value: 'here it comes' } });
      expect((screen.getByTestId('composer-send') as HTMLButtonElement).disabled).toBe(true);
      fireEvent.keyDown(input, { key: 'Enter' });
      expect(client.sendMessage).not.toHaveBeenCalled();
      finish(jsonResponse(201, stored('slow.zip', 'application/zip')));
      await waitFor(() => expect(item.getAttribute('data-status')).toBe('done'));
      fireEvent.keyDown(input, { key: 'Enter' });
      expect(client.sendMessage.mock.calls[0]![0]).toMatchObject({ body: 'here it comes', attachments: ['up1'] });
    });

    it('shows a 413 on the file and refuses files over 10 MB without uploading them', async () => {
      fakeClient();
      const fetch = uploadServer(() => jsonResponse(413, { error: { code: 'too_large', message: 'file is over 10 MiB' } }));
      renderWithApp(<Composer conversation={conv} me={me} />);
      fireEvent.change(screen.getByTestId('composer-file'), { target: { files: [new File(['x'], 'scan.tiff', { type: 'image/tiff' })] } });
      const item = await screen.findByTestId('composer-file-item');
      await waitFor(() => expect(item.getAttribute('data-status')).toBe('error'));
      expect(item.textContent).toContain('scan.tiff is over 10 MB');
      expect((screen.getByTestId('composer-send') as HTMLButtonElement).disabled).toBe(true);
      fireEvent.click(within(item).getByRole('button', { name: 'Remove scan.tiff' }));
      expect(screen.queryByTestId('composer-file-item')).toBeNull();

      const big = new File(['x'], 'movie.mp4', { type: 'video/mp4' });
      Object.defineProperty(big, 'size', { value: 10 * 1024 * 1024 + 1 });
      fireEvent.change(screen.getByTestId('composer-file'), { target: { files: [big] } });
      expect(await screen.findByText('movie.mp4 is over 10 MB')).toBeTruthy(); // a toast
      expect(screen.queryByTestId('composer-file-item')).toBeNull();
      expect(fetch).toHaveBeenCalledTimes(1);
    });

    it('posts a note with attachments over REST', async () => {
      fakeClient();
      const fetch = vi.fn(async (url: string, init?: RequestInit) => {
        if (url === '/api/v1/uploads') return jsonResponse(201, stored('note.png', 'image/png'));
        const body = JSON.parse(String(init?.body));
        return jsonResponse(201, {
          id: 'm9',
          conversation_id: 'c1',
          seq: 9,
          client_id: body.client_id,
          author: { type: 'agent', id: 'u1' },
          body: '',
          private: true,
          attachments: [stored('note.png', 'image/png')],
          created_at: '2024-01-01T00:00:09Z',
        });
      });
      vi.stubGlobal('fetch', fetch);
      renderWithApp(<Composer conversation={conv} me={me} />);
      fireEvent.click(screen.getByTestId('composer-mode-note'));
      fireEvent.change(screen.getByTestId('composer-file'), { target: { files: [new File(['png'], 'note.png', { type: 'image/png' })] } });
      await waitFor(() => expect(screen.getByTestId('composer-file-item').getAttribute('data-status')).toBe('done'));
      fireEvent.click(screen.getByTestId('composer-send'));
      await waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
      expect(fetch.mock.calls[1]![0]).toBe('/api/v1/conversations/c1/messages');
      expect(JSON.parse(String(fetch.mock.calls[1]![1]?.body))).toMatchObject({ body: '', private: true, attachments: ['up1'] });
    });
  });
});
