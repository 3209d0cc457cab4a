import type { QueryClient } from '@tanstack/react-query';
import { api, type ConversationPatch } from '../api';
import { upsertConversation } from '../realtime/cache';
import { keys } from '../realtime/keys';

/** Resolves a conversation and updates every cached view of it. */
export async function resolveConversation(id: string, qc: QueryClient) {
  const next = await api.conversations.resolve(id);
  upsertConversation(qc, next);
  void qc.invalidateQueries({ queryKey: keys.counts });
  return next;
}

/** Undoes a resolve. */
export async function reopenConversation(id: string, qc: QueryClient) {
  const next = await api.conversations.reopen(id);
  upsertConversation(qc, next);
  void qc.invalidateQueries({ queryKey: keys.counts });
  return next;
}

/** Assigns a conversation to an agent and updates every cached view of it. */
export async function assignConversation(id: string, agentId: string, qc: QueryClient) {
  const next = await api.conversations.assign(id, { agent_id: agentId });
  upsertConversation(qc, next);
  return next;
}

/** Transfers a conversation to an agent and/or a team, with an optional note. */
export async function transferConversation(id: string, to: { agent_id?: string; team_id?: string; note?: string }, qc: QueryClient) {
  const next = await api.conversations.assign(id, to);
  upsertConversation(qc, next);
  void qc.invalidateQueries({ queryKey: keys.messages(id) });
  void qc.invalidateQueries({ queryKey: keys.counts });
  return next;
}

export async function unassignConversation(id: string, qc: QueryClient) {
  const next = await api.conversations.unassign(id);
  upsertConversation(qc, next);
  void qc.invalidateQueries({ queryKey: keys.counts });
  return next;
}

/** Sets labels, priority or a snooze. */
export async function patchConversation(id: string, patch: ConversationPatch, qc: QueryClient) {
  const next = await api.conversations.patch(id, patch);
  upsertConversation(qc, next);
  if ('snoozed_until' in patch) void qc.invalidateQueries({ queryKey: keys.counts });
  return next;
}
