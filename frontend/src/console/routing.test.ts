import { beforeEach, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import type { ConversationEvent, RoutingDecision, TraceStep } from '../api';
import type { ThreadMessage } from '../realtime/cache';
import { instant, interleave, routingSummary, tracePath, traceSteps } from './routing';

const step = (node: string, type: string, outcome: string, detail = ''): TraceStep => ({ node, type, outcome, detail });

// The default flow assigning a new conversation, as the server logs it.
const assigned: RoutingDecision = {
  event: 'conversation.created',
  flow_id: 'f1',
  flow_version: 3,
  action: 'assign',
  agent_id: 'u1',
  agent_name: 'Ann',
  trace: [
    step('start', 'start', 'next', 'conversation.created'),
    step('is_new', 'condition', 'true', 'event == "conversation.created"'),
    step('greet', 'reply', 'next', 'Hi!'),
    step('hours', 'business_hours', 'open', 'open: mon 00:00–24:00'),
    step('assign', 'assign', 'assigned', 'round_robin to Ann'),
  ],
};

describe('routing trace summary', () => {
  const t = i18n.t.bind(i18n);
  beforeEach(() => i18n.changeLanguage('en'));

  it('names each node by its type, with the branch in words; the start and notes are left out', () => {
    expect(traceSteps(assigned.trace, t)).toEqual(['Condition: yes', 'Reply', 'Business hours: open', 'Assign: assigned']);
    expect(traceSteps([step('c', 'condition', 'error', 'boom'), step('', 'queue', 'queue', 'no error branch')], t)).toEqual(['Condition: failed']);
    expect(traceSteps([step('x', 'set', '', 'a = 1')], t)).toEqual(['Set attribute']);
    expect(traceSteps([step('s', 'switch', 'vip', '')], t)).toEqual(['Switch: vip']);
    expect(traceSteps(null, t)).toEqual([]);
  });

  it('reads "Routing (flow v3): … → Assign: assigned (Ann)" for an assignment', () => {
    expect(routingSummary(assigned, t)).toBe('Routing (flow v3): Condition: yes → Reply → Business hours: open → Assign: assigned (Ann)');
  });

  it('puts the action on the node that ended the run, else after the path', () => {
    const queuedAtNode: RoutingDecision = {
      ...assigned,
      action: 'queue',
      agent_name: undefined,
      agent_id: undefined,
      waiting: 'queue',
      trace: [step('start', 'start', 'next'), step('hours', 'business_hours', 'closed'), step('queue', 'queue', 'queue', 'waiting for an agent')],
    };
    expect(tracePath(queuedAtNode, t)).toBe('Business hours: closed → Queue: queued');

    // An assign node with nobody free queues too.
    const nobodyFree = { ...queuedAtNode, trace: [step('start', 'start', 'next'), step('assign', 'assign', 'queue', 'no agent can take it now: queued')] };
    expect(tracePath(nobodyFree, t)).toBe('Assign: queued');

    // An error without an error branch: the server adds a note and queues.
    const broken = { ...queuedAtNode, trace: [step('start', 'start', 'next'), step('vip', 'condition', 'error', 'bad'), step('', 'queue', 'queue', 'no error branch')] };
    expect(tracePath(broken, t)).toBe('Condition: failed → queued');

    // Running out of edges ends the run where it stands.
    const ranOut: RoutingDecision = { ...queuedAtNode, action: 'end', trace: [step('start', 'start', 'next'), step('greet', 'reply', 'next')] };
    expect(tracePath(ranOut, t)).toBe('Reply → ended');
    expect(tracePath({ ...ranOut, trace: [step('start', 'start', 'next'), step('stop', 'end', 'end')] }, t)).toBe('End: ended');

    // An assignment whose agent has no name shows the id; no trace at all still says what happened.
    expect(tracePath({ ...assigned, agent_name: '', trace: [] }, t)).toBe('assigned (u1)');
  });

  it("titles the default flow and says everything in the reader's language, no node ids or enum values", async () => {
    expect(routingSummary({ ...assigned, flow_id: '', flow_version: 0 }, t)).toMatch(/^Routing \(default flow\): Condition: yes → /);
    await i18n.changeLanguage('zh-CN');
    const zh = routingSummary(assigned, t);
    expect(zh).toBe(
      `路由（流程 v3）：${t('flows.types.condition.label')}: 是 → ${t('flows.types.reply.label')} → ${t('flows.types.business_hours.label')}: 营业中 → ${t('flows.types.assign.label')}: 已分配（Ann）`,
    );
    expect(zh).not.toMatch(/is_new|greet|hours|true|open/);
  });
});

describe('events among messages', () => {
  const msg = (seq: number, created_at: string, extra: Partial<ThreadMessage> = {}): ThreadMessage => ({
    id: `m${seq}`,
    conversation_id: 'c1',
    seq,
    author: { type: 'visitor' },
    body: `#${seq}`,
    private: false,
    attachments: [],
    created_at,
    ...extra,
  });
  const ev = (id: string, created_at: string): ConversationEvent => ({ id, kind: 'routing', detail: assigned, created_at });
  const order = (items: ReturnType<typeof interleave>) => items.map((i) => (i.kind === 'event' ? i.event.id : i.message.body));

  it('orders RFC 3339 times to the microsecond, whatever their trailing zeros', () => {
    expect(instant('2024-05-01T08:30:00.1Z')).toBeGreaterThan(instant('2024-05-01T08:30:00.012345Z'));
    expect(instant('2024-05-01T08:30:00Z')).toBe(Date.parse('2024-05-01T08:30:00Z') * 1000);
    expect(instant('2024-05-01T10:30:00.5+02:00')).toBe(instant('2024-05-01T08:30:00.500000Z'));
    expect(Number.isNaN(instant(''))).toBe(true);
  });

  it('puts each event before the first message written after it; a tie keeps the message first', () => {
    const messages = [
      msg(1, '2024-05-01T08:30:00.000100Z'),
      msg(2, '2024-05-01T08:30:00.2Z', { author: { type: 'bot' } }),
      msg(3, '2024-05-01T08:31:00Z'),
      msg(0, '2024-05-01T08:29:00Z', { pending: true, client_id: 'local' }),
    ];
    const events = [ev('e2', '2024-05-01T08:30:30Z'), ev('e1', '2024-05-01T08:30:00.2Z'), ev('e3', '2024-05-01T09:00:00Z')];
    expect(order(interleave(messages, events))).toEqual(['#1', '#2', 'e1', 'e2', '#3', 'e3', '#0']);
    expect(order(interleave([], events))).toEqual(['e1', 'e2', 'e3']);
    expect(interleave(messages, []).every((i) => i.kind === 'message')).toBe(true);
  });
});
