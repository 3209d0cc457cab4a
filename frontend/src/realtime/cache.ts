// Pure cache updates shared by the WebSocket event handlers and the composer:
// they keep the conversation lists, single conversations and message threads
// in react-query consistent without refetching.
import type { QueryClient } from '@tanstack/react-query';
import { linksChanged } from '../api/attachments';
import type { Conversation, ConversationFilter, Message } from '../api/types';
import { sortConversations } from '../lib/format';
import { filterFromKey, keys, type InboxFilter } from './keys';

/** A message in the thread cache: a stored one, or a local one waiting for its ack. */
export interface ThreadMessage extends Message {
  pending?: boolean;
  failed?: string;
}

/** Rows per page of an inbox list. */
export const PAGE_SIZE = 50;

export function apiFilter(f: InboxFilter, meId: string): ConversationFilter {
  const common: ConversationFilter = { limit: PAGE_SIZE, label: f.label, sort: f.sort };
  switch (f.tab) {
    case 'mine':
      return { ...common, status: 'assigned', assignee: meId };
    case 'queue':
      return { ...common, status: 'queued' };
    case 'team':
      return { ...common, team: f.team, open: true };
    case 'snoozed':
      return { ...common, snoozed: 'only' };
    default:
      return f.status ? { ...common, status: f.status } : common;
  }
}

/** Whether the conversation is snoozed at now. */
export function isSnoozed(c: Conversation, now = Date.now()): boolean {
  return !!c.snoozed_until && Date.parse(c.snoozed_until) > now;
}

export function matchesFilter(c: Conversation, f: InboxFilter, meId: string, now = Date.now()): boolean {
  if (f.label && !(c.labels ?? []).includes(f.label)) return false;
  if (f.tab === 'snoozed') return isSnoozed(c, now);
  if (isSnoozed(c, now)) return false;
  switch (f.tab) {
    case 'mine':
      return c.status === 'assigned' && c.assignee_id === meId;
    case 'queue':
      return c.status === 'queued';
    case 'team':
      return !!f.team && c.team === f.team && c.status !== 'resolved';
    default:
      return !f.status || c.status === f.status;
  }
}

const PRIORITY_RANK: Record<string, number> = { urgent: 4, high: 3, normal: 2, low: 1, none: 0 };

/** A list in the filter's order: most recent first, or by priority then most recent. */
export function sortFor(list: Conversation[], f: InboxFilter): Conversation[] {
  const recent = sortConversations(list);
  if (f.sort !== 'priority') return recent;
  return recent.sort((a, b) => (PRIORITY_RANK[b.priority ?? 'none'] ?? 0) - (PRIORITY_RANK[a.priority ?? 'none'] ?? 0));
}

/** Inserts, replaces or removes a conversation in every cached list, and sets its own entry. */
export function upsertConversation(qc: QueryClient, incoming: Conversation): void {
  const prev = qc.getQueryData<Conversation>(keys.conversation(incoming.id));
  // A conversation.updated frame may omit last_message; keep what we know.
  const conv: Conversation = incoming.last_message === undefined && prev?.last_message ? { ...incoming, last_message: prev.last_message } : incoming;
  qc.setQueryData(keys.conversation(conv.id), conv);
  for (const [key, list] of qc.getQueriesData<Conversation[]>({ queryKey: keys.conversationLists })) {
    if (!list) continue;
    const parsed = filterFromKey(key);
    if (!parsed) continue;
    const without = list.filter((c) => c.id !== conv.id);
    if (matchesFilter(conv, parsed.filter, parsed.meId)) {
      const old = list.find((c) => c.id === conv.id);
      const merged = old && conv.last_message === undefined ? { ...conv, last_message: old.last_message } : conv;
      qc.setQueryData(key, sortFor([merged, ...without], parsed.filter));
    } else if (without.length !== list.length) {
      qc.setQueryData(key, without);
    }
  }
}

/** Finds a conversation in the cache (own entry first, then any list). */
export function findConversation(qc: QueryClient, id: string): Conversation | undefined {
  const own = qc.getQueryData<Conversation>(keys.conversation(id));
  if (own) return own;
  for (const [, list] of qc.getQueriesData<Conversation[]>({ queryKey: keys.conversationLists })) {
    const hit = list?.find((c) => c.id === id);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Merges messages into a thread: an entry with the same client_id is replaced
 * (a pending message becoming stored), an entry with the same seq is kept once
 * (taking the incoming copy's file links when they were signed afresh),
 * stored messages are ordered by seq and pending ones stay last.
 */
export function mergeMessages(current: readonly ThreadMessage[] | undefined, incoming: readonly ThreadMessage[]): ThreadMessage[] {
  const out = [...(current ?? [])];
  for (const m of incoming) {
    const byClient = m.client_id ? out.findIndex((x) => x.client_id === m.client_id) : -1;
    if (byClient >= 0) {
      const old = out[byClient]!;
      // Never let a late pending copy overwrite the stored one.
      if (m.pending && !old.pending && !old.failed) continue;
      out[byClient] = { ...old, ...m, pending: m.pending ?? false, failed: m.failed };
      continue;
    }
    const same = m.seq > 0 ? out.findIndex((x) => x.seq === m.seq && !x.pending) : -1;
    if (same >= 0) {
      // A message fetched again carries freshly signed file links: take them.
      if (!m.pending && linksChanged(out[same]!.attachments, m.attachments)) out[same] = { ...out[same]!, attachments: m.attachments };
      continue;
    }
    out.push(m);
  }
  const stored = out.filter((m) => !m.pending && !m.failed).sort((a, b) => a.seq - b.seq);
  const local = out.filter((m) => m.pending || m.failed);
  return [...stored, ...local];
}

/** Applies one message to its thread and to the conversation's preview everywhere. */
export function applyMessage(qc: QueryClient, msg: ThreadMessage): void {
  qc.setQueryData<ThreadMessage[]>(keys.messages(msg.conversation_id), (cur) => mergeMessages(cur, [msg]));
  if (msg.pending || msg.failed || msg.seq <= 0) return;
  const touch = (c: Conversation): Conversation => {
    if (c.id !== msg.conversation_id || c.last_seq > msg.seq) return c;
    return {
      ...c,
      last_seq: msg.seq,
      updated_at: msg.created_at > c.updated_at ? msg.created_at : c.updated_at,
      // The preview shows what the visitor or an agent said, not notes or "assigned to Ann".
      last_message: msg.private || msg.author.type === 'system' ? c.last_message : { body: msg.body, author_type: msg.author.type, created_at: msg.created_at },
      ...(msg.author.type === 'visitor'
        ? {
            last_visitor_message: { body: msg.body, author_type: 'visitor' as const, created_at: msg.created_at },
            waiting_since: c.waiting_since ?? msg.created_at,
            snoozed_until: null,
          }
        : msg.author.type === 'agent' && !msg.private
          ? { waiting_since: null }
          : {}),
    };
  };
  const own = qc.getQueryData<Conversation>(keys.conversation(msg.conversation_id));
  if (own) qc.setQueryData(keys.conversation(msg.conversation_id), touch(own));
  for (const [key, list] of qc.getQueriesData<Conversation[]>({ queryKey: keys.conversationLists })) {
    if (!list || !list.some((c) => c.id === msg.conversation_id)) continue;
    const parsed = filterFromKey(key);
    qc.setQueryData(key, parsed ? sortFor(list.map(touch), parsed.filter) : sortConversations(list.map(touch)));
  }
}

/** Marks a local message as stored after its ack (seq and id from the server). */
export function ackMessage(qc: QueryClient, conversationId: string, clientId: string, seq: number, messageId: string): void {
  qc.setQueryData<ThreadMessage[]>(keys.messages(conversationId), (cur) => {
    if (!cur) return cur;
    const hit = cur.find((m) => m.client_id === clientId);
    if (!hit) return cur;
    const stored = cur.some((m) => m.seq === seq && m.client_id !== clientId && !m.pending);
    const rest = cur.filter((m) => m.client_id !== clientId);
    if (stored) return rest;
    return mergeMessages(rest, [{ ...hit, seq, id: messageId || hit.id, pending: false, failed: undefined }]);
  });
}

export function failMessage(qc: QueryClient, conversationId: string, clientId: string, reason: string): void {
  qc.setQueryData<ThreadMessage[]>(keys.messages(conversationId), (cur) => cur?.map((m) => (m.client_id === clientId && m.pending ? { ...m, pending: false, failed: reason } : m)));
}
