import { describe, expect, it } from 'vitest';
import { waitText } from './wait';
import { preview } from './InboxList';
import type { Conversation } from '../api/types';

describe('triage rows', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('says how long the visitor waits', () => {
    expect(waitText('2026-01-01T11:59:30Z', now, 'en')).toBe('30s');
    expect(waitText('2026-01-01T11:48:00Z', now, 'en')).toBe('12 min');
    expect(waitText('2026-01-01T08:55:00Z', now, 'zh-CN')).toBe('3 小时 5 分钟');
    expect(waitText('2025-12-29T12:00:00Z', now, 'en')).toBe('3 d');
  });

  it('previews the visitor question over the bot greeting', () => {
    const base: Conversation = { id: 'c', status: 'queued', visitor: { id: 'v' }, last_seq: 3, created_at: '', updated_at: '' };
    const c: Conversation = {
      ...base,
      last_message: { body: 'Hi! Thanks for reaching out', author_type: 'bot', created_at: '2026-01-01T11:00:01Z' },
      last_visitor_message: { body: '我想退货', author_type: 'visitor', created_at: '2026-01-01T11:00:00Z' },
      waiting_since: '2026-01-01T11:00:00Z',
    };
    expect(preview(c)?.body).toBe('我想退货');
    // Answered: the agent's reply is the latest news.
    const answered: Conversation = { ...c, waiting_since: null, last_message: { body: 'Sure', author_type: 'agent', created_at: '2026-01-01T11:05:00Z' } };
    expect(preview(answered)?.body).toBe('Sure');
    expect(preview(base)).toBeNull();
  });
});
