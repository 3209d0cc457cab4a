import type { TFunction } from 'i18next';
import type { Message } from '../api/types';

/** The i18n key of each system message code this client knows. */
const KEYS = {
  assigned: 'console.system.assigned',
  transferred: 'console.system.transferred',
  team_assigned: 'console.system.teamAssigned',
  unassigned: 'console.system.unassigned',
  resolved: 'console.system.resolved',
  reopened: 'console.system.reopened',
  agent_away: 'console.system.agentAway',
  queued: 'console.system.queued',
} as const;

/**
 * A system message in the reader's language, from its code and parameters;
 * the stored body (the tenant's language) for a code this client does not know.
 */
export function systemText(m: Pick<Message, 'body' | 'system'>, tf: TFunction): string {
  // The keys are known to exist; the typed TFunction cannot follow a lookup table.
  const t = tf as unknown as (key: string, params?: Record<string, string>) => string;
  const code = m.system?.code;
  if (!code || !(code in KEYS)) return m.body;
  const params: Record<string, string> = { ...(m.system?.params ?? {}) };
  if (code === 'reopened' && params.by_name) return t('console.system.reopenedBy', params);
  if (code === 'resolved' && !params.by_name) params.by_name = '—';
  return t(KEYS[code as keyof typeof KEYS], params);
}
