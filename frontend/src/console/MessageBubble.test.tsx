import { describe, expect, it } from 'vitest';
import { fireEvent, screen, within } from '@testing-library/react';
import { MessageBubble } from './MessageBubble';
import { renderWithApp } from '../test/render';
import type { ThreadMessage } from '../realtime/cache';

const base = { conversation_id: 'c1', created_at: '2024-05-01T08:30:00Z' };

function bubble(m: Partial<ThreadMessage>) {
  const full = { id: 'm', seq: 1, body: 'hi', author: { type: 'visitor' }, ...base, ...m } as ThreadMessage;
  return renderWithApp(<MessageBubble m={full} meId="me" conversationId="c1" />);
}

describe('MessageBubble', () => {
  it('puts visitor messages on the left', () => {
    const { container } = bubble({ body: '退货怎么办？' });
    expect(container.querySelector('.msg-left.msg-visitor')).not.toBeNull();
    expect(screen.getByTestId('message-body').textContent).toBe('退货怎么办？');
  });

  it('puts agent replies on the right with a pending clock, then a check when stored', () => {
    const pending = bubble({ author: { type: 'agent', id: 'me' }, seq: 0, pending: true, client_id: 'x' });
    expect(pending.container.querySelector('.msg-right.msg-agent')).not.toBeNull();
    expect(screen.getByTestId('message-pending')).toBeTruthy();
    pending.unmount();
    bubble({ author: { type: 'agent', id: 'me' }, seq: 3 });
    expect(screen.getByTestId('message-sent')).toBeTruthy();
  });

  it('marks bot messages with a robot and private notes as internal', () => {
    const bot = bubble({ author: { type: 'bot', name: 'FAQ bot' } });
    expect(bot.container.querySelector('.msg-bot .msg-avatar')).not.toBeNull();
    expect(screen.getByText('FAQ bot')).toBeTruthy();
    bot.unmount();
    const note = bubble({ author: { type: 'agent', id: 'me' }, private: true, body: 'VIP customer' });
    expect(note.container.querySelector('.msg-note')).not.toBeNull();
    expect(screen.getByText(/Internal note/)).toBeTruthy();
  });

  it('centres system messages', () => {
    const { container } = bubble({ author: { type: 'system' }, body: 'assigned to Ann' });
    expect(container.querySelector('.msg-system')?.textContent).toContain('assigned to Ann');
  });

  describe('attachments', () => {
    const png = { id: 'a1', name: 'photo.png', content_type: 'image/png', size: 2048, url: '/api/v1/files/t1/a1?sig=s1' };
    const pdf = { id: 'a2', name: 'invoice-2024.pdf', content_type: 'application/pdf', size: 1_300_000, url: '/api/v1/files/t1/a2?sig=s2' };
    const svg = { id: 'a3', name: 'logo.svg', content_type: 'image/svg+xml', size: 900, url: '/api/v1/files/t1/a3?sig=s3' };

    it('shows an image as a thumbnail with a preview, and no empty text bubble', async () => {
      const { container } = bubble({ body: '', attachments: [png] });
      const thumb = await screen.findByTestId('attachment-image');
      expect(container.querySelector('.msg-images .ant-image')).toBe(thumb);
      const img = thumb.querySelector('img')!;
      expect(img.getAttribute('src')).toBe('/api/v1/files/t1/a1?sig=s1');
      expect(img.getAttribute('alt')).toBe('photo.png');
      // antd Image: a click opens the full image in a preview.
      expect(document.querySelector('.ant-image-preview')).toBeNull();
      fireEvent.click(img);
      const preview = document.querySelector('.ant-image-preview');
      expect(preview).not.toBeNull();
      expect(preview!.querySelector('img')?.getAttribute('src')).toBe('/api/v1/files/t1/a1?sig=s1');
      expect(screen.queryByTestId('attachment-file')).toBeNull();
      expect(screen.queryByTestId('message-body')).toBeNull();
    });

    it('shows other files (and SVG) as download links with name and size, next to the text', () => {
      bubble({ body: 'Here is the invoice', attachments: [pdf, svg] });
      expect(screen.getByTestId('message-body').textContent).toBe('Here is the invoice');
      expect(screen.queryByTestId('attachment-image')).toBeNull();
      const links = screen.getAllByTestId('attachment-file') as HTMLAnchorElement[];
      expect(links).toHaveLength(2);
      expect(links[0]!.getAttribute('href')).toBe('/api/v1/files/t1/a2?sig=s2');
      expect(links[0]!.getAttribute('target')).toBe('_blank');
      expect(links[0]!.getAttribute('rel')).toContain('noopener');
      expect(within(links[0]!).getByText('invoice-2024.pdf')).toBeTruthy();
      expect(within(links[0]!).getByText('1.2 MB')).toBeTruthy();
      expect(within(links[1]!).getByText('logo.svg')).toBeTruthy();
    });

    it('renders images and files of one message together, on the agent side too', async () => {
      const { container } = bubble({ author: { type: 'agent', id: 'me' }, seq: 4, body: '', attachments: [png, pdf] });
      expect(container.querySelector('.msg-right .msg-attachments')).not.toBeNull();
      expect(await screen.findAllByTestId('attachment-image')).toHaveLength(1);
      expect(screen.getAllByTestId('attachment-file')).toHaveLength(1);
      expect(screen.getByTestId('message-sent')).toBeTruthy();
    });

    it('never links to a javascript: url', () => {
      bubble({ attachments: [{ ...pdf, url: 'javascript:alert(1)' }] });
      expect(screen.getByTestId('attachment-file').getAttribute('href')).toBe('#');
    });
  });
});
