import { describe, expect, it } from 'vitest';
import type { CannedReply } from '../api/types';
import { fillVariables, filterCanned, fuzzyScore, slashQuery } from './canned';

const reply = (shortcut: string, body: string): CannedReply => ({
  id: shortcut,
  shortcut,
  body,
  scope: 'tenant',
  created_at: '',
  updated_at: '',
});

describe('canned replies', () => {
  it('matches fuzzily, best first', () => {
    expect(fuzzyScore('rfd', 'refund')).toBeGreaterThan(0);
    expect(fuzzyScore('xyz', 'refund')).toBe(-1);
    const list = [reply('greeting', 'Hello there'), reply('refund', 'Your refund is on its way'), reply('ship', '退货 shipping label')];
    expect(filterCanned(list, 'ref').map((r) => r.shortcut)).toEqual(['refund']);
    expect(filterCanned(list, 'rf')[0]!.shortcut).toBe('refund');
    expect(filterCanned(list, '退货').map((r) => r.shortcut)).toEqual(['ship']);
    expect(filterCanned(list, '')).toHaveLength(3);
  });

  it('fills variables and drops empty ones', () => {
    const ctx = { visitor: { name: '张三', email: 'z@example.com' }, agent: { name: 'Ann' }, conversationId: 'c1' };
    expect(fillVariables('您好 {{visitor.name}}，我是 {{ agent.name }}', ctx)).toBe('您好 张三，我是 Ann');
    expect(fillVariables('Hi {{visitor.name}}, ref {{conversation.id}}', { agent: { name: 'A' } })).toBe('Hi, ref');
    expect(fillVariables('Hi {{visitor.name}}!', {}, { visitor: 'there' })).toBe('Hi there!');
    expect(fillVariables('x {{nope}} y', ctx)).toBe('x y');
  });

  it('finds the /query at the caret', () => {
    expect(slashQuery('/ref', 4)).toEqual({ start: 0, query: 'ref' });
    expect(slashQuery('hello /gr', 9)).toEqual({ start: 6, query: 'gr' });
    expect(slashQuery('a/b', 3)).toBeNull();
    expect(slashQuery('/ref done', 9)).toBeNull();
  });
});
