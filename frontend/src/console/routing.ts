// Pure helpers for the routing decisions shown in the agent's thread: the
// one-line summary of a run's trace, and the merge of events into the
// messages by time.
import type { TFunction } from 'i18next';
import type { ConversationEvent, RoutingDecision, TraceStep } from '../api/types';
import type { ThreadMessage } from '../realtime/cache';
import en from '../i18n/en';

const OUTCOMES = ['true', 'false', 'open', 'closed', 'answered', 'unanswered', 'pending', 'handoff', 'assigned', 'queue', 'timeout', 'default', 'error', 'end'] as const;
type Outcome = (typeof OUTCOMES)[number];
const isOutcome = (o: string): o is Outcome => (OUTCOMES as readonly string[]).includes(o);

type NodeTypeKey = keyof typeof en.flows.types;
const isKnownType = (t: string): t is NodeTypeKey => Object.prototype.hasOwnProperty.call(en.flows.types, t);

/** A node's type in words ("Condition", "条件"); unknown types as they are. */
export function typeWord(type: string, t: TFunction): string {
  return isKnownType(type) ? t(`flows.types.${type}.label`) : type;
}

/** A branch taken, in words ("yes", "open", "answered"); a switch's own case labels as they are. */
export function outcomeWord(outcome: string, t: TFunction): string {
  return isOutcome(outcome) ? t(`thread.routing.outcomes.${outcome}`) : outcome;
}

type EventKey = keyof typeof en.thread.routing.events;
const isKnownEvent = (e: string): e is EventKey => Object.prototype.hasOwnProperty.call(en.thread.routing.events, e);

/** The event a flow ran on, in words ("a new conversation"). */
export function eventWord(event: string, t: TFunction): string {
  const key = event.replace('.', '_');
  return isKnownEvent(key) ? t(`thread.routing.events.${key}`) : event;
}

/**
 * The trace's steps in words: each node by its type ("Reply"), with the
 * branch it took when it is a branch ("Condition: yes"); the start and the
 * server's notes are left out.
 */
export function traceSteps(trace: readonly TraceStep[] | null | undefined, t: TFunction): string[] {
  return (trace ?? [])
    .filter((s) => s.node && s.type !== 'start')
    .map((s) => (s.outcome && s.outcome !== 'next' ? `${typeWord(s.type, t)}: ${outcomeWord(s.outcome, t)}` : typeWord(s.type, t)));
}

/** The outcome a trace's last step has when it is the step that ended the run with this action. */
const FINAL_OUTCOME: Record<string, string> = { assign: 'assigned', queue: 'queue', end: 'end' };

/** "assigned (Ann)", "queued", "ended". */
export function actionText(d: Pick<RoutingDecision, 'action' | 'agent_name' | 'agent_id'>, t: TFunction): string {
  switch (d.action) {
    case 'assign': {
      const name = d.agent_name || d.agent_id;
      return name ? t('thread.routing.assigned', { name }) : t('thread.routing.assignedNobody');
    }
    case 'queue':
      return t('thread.routing.queued');
    case 'end':
      return t('thread.routing.ended');
    default:
      return String(d.action ?? '');
  }
}

/** "Routing (flow v3)", or "Routing (default flow)" when no flow of the tenant's was published. */
export function routingTitle(d: Pick<RoutingDecision, 'flow_id' | 'flow_version'>, t: TFunction): string {
  return d.flow_id ? t('thread.routing.title', { version: d.flow_version }) : t('thread.routing.titleDefault');
}

/**
 * The path of a run and what it decided, in words, e.g.
 * "Condition: yes → Reply → Business hours: open → Assign: assigned (Ann)".
 * When the last step is the node that ended the run (an assign that
 * assigned, a queue, an end), the action replaces its outcome; otherwise
 * (the flow ran out of edges, or an error sent it to the queue) it follows
 * as a step of its own.
 */
export function tracePath(d: RoutingDecision, t: TFunction): string {
  const named = (d.trace ?? []).filter((s) => s.node && s.type !== 'start');
  const parts = traceSteps(named, t);
  const action = actionText(d, t);
  const last = named[named.length - 1];
  if (last && FINAL_OUTCOME[d.action] === last.outcome) parts[parts.length - 1] = `${typeWord(last.type, t)}: ${action}`;
  else if (action) parts.push(action);
  return parts.join(' → ');
}

/** The whole line: "Routing (flow v3): start → … → assign: assigned (Ann)". */
export function routingSummary(d: RoutingDecision, t: TFunction): string {
  return t('thread.routing.line', { title: routingTitle(d, t), path: tracePath(d, t) });
}

export function isRoutingEvent(e: ConversationEvent): boolean {
  return e.kind === 'routing' && !!e.detail && typeof e.detail === 'object';
}

/**
 * An RFC 3339 time in microseconds since the epoch. The server writes up to
 * microseconds and drops trailing zeros ("…:00.1Z"), so neither string
 * comparison nor Date.parse (milliseconds) orders two close times right.
 */
export function instant(iso: string | null | undefined): number {
  if (!iso) return Number.NaN;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)$/i.exec(iso.trim());
  if (!m) return Date.parse(iso) * 1000;
  const base = Date.parse(m[1]! + m[3]!.toUpperCase());
  return base * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

export type ThreadItem = { kind: 'message'; key: string; message: ThreadMessage } | { kind: 'event'; key: string; event: ConversationEvent };

/**
 * Interleaves events with the thread's messages by time. Messages keep their
 * order (by seq, local ones last); an event goes before the first stored
 * message written after it, and before every local (unsent) message. On a
 * tie the message comes first: a flow's replies are written before its run
 * is logged.
 */
export function interleave(messages: readonly ThreadMessage[], events: readonly ConversationEvent[]): ThreadItem[] {
  const evs = events
    .map((e, i) => {
      const at = instant(e.created_at);
      return { e, i, at: Number.isNaN(at) ? Number.POSITIVE_INFINITY : at };
    })
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.i - b.i));
  const out: ThreadItem[] = [];
  let j = 0;
  const eventItem = (e: ConversationEvent): ThreadItem => ({ kind: 'event', key: `event:${e.id}`, event: e });
  for (const m of messages) {
    const local = !!m.pending || !!m.failed || !(m.seq > 0);
    const at = local ? Number.POSITIVE_INFINITY : instant(m.created_at);
    while (j < evs.length && evs[j]!.at < at) out.push(eventItem(evs[j++]!.e));
    out.push({ kind: 'message', key: `message:${m.client_id || m.id || m.seq}`, message: m });
  }
  while (j < evs.length) out.push(eventItem(evs[j++]!.e));
  return out;
}
