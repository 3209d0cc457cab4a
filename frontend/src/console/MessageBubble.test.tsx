import { describe, expect, it } from 'vitest';
import { screen } from '@testing-library/react';
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
});
