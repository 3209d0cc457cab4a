import type { AgentRole, Role } from '../api';

/**
 * The server's rules of user administration, for showing only what would be
 * allowed (the server enforces them): owners and admins manage users, and
 * only users whose role ranks at most their own; nobody gives a role above
 * their own.
 */
const RANK: Partial<Record<Role, number>> = { agent: 1, supervisor: 2, admin: 3, owner: 4 };

export function canManage(me: Role | undefined, target: Role): boolean {
  if (me !== 'owner' && me !== 'admin') return false;
  return (RANK[target] ?? 99) <= (RANK[me] ?? 0);
}

export function rolesGrantable(me: Role | undefined, roles: readonly AgentRole[]): AgentRole[] {
  return roles.filter((r) => (RANK[r] ?? 99) <= (RANK[me ?? 'agent'] ?? 0));
}
