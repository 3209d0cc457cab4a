import { beforeEach, describe, expect, it } from 'vitest';
import { useStreams } from './streams';

describe('bot streams', () => {
  beforeEach(() => useStreams.setState({ byConversation: {} }));

  it('collects pieces per stream and drops a stream when it ends', () => {
    const s = useStreams.getState();
    s.append('c1', 'st1', '您好，');
    s.append('c1', 'st1', '可以退货。');
    s.append('c1', 'st2', 'Other');
    expect(useStreams.getState().byConversation.c1).toEqual([
      { id: 'st1', text: '您好，可以退货。' },
      { id: 'st2', text: 'Other' },
    ]);
    s.end('c1', 'st1');
    expect(useStreams.getState().byConversation.c1).toEqual([{ id: 'st2', text: 'Other' }]);
    const before = useStreams.getState();
    s.end('c1', 'unknown');
    expect(useStreams.getState()).toBe(before);
  });
});
