import type { QueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { upsertConversation } from '../realtime/cache';

/** Resolves a conversation and updates every cached view of it. */
export async function resolveConversation(id: string, qc: QueryClient) {
  const next = await api.conversations.resolve(id);
  upsertConversation(qc, next);
  return next;
}

/** Assigns a conversation to an agent and updates every cached view of it. */
export async function assignConversation(id: string, agentId: string, qc: QueryClient) {
  const next = await api.conversations.assign(id, { agent_id: agentId });
  upsertConversation(qc, next);
  return next;
}
