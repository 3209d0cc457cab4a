import type { TFunction } from 'i18next';
import { useQuery } from '@tanstack/react-query';
import { api, type AgentRole, type Role } from '../api';
import { keys } from '../realtime/keys';

/**
 * The server's rules of user administration, for showing only what would be
 * allowed (the server enforces them): owners and admins manage users, and
 * only users whose role ranks at most their own; nobody gives a role above
 * their own. Custom roles have no rank (they manage, and are managed, as
 * the lowest), and only admins and the owner give them.
 */
const RANK: Partial<Record<string, number>> = {
  agent: 1,
  supervisor: 2,
  admin: 3,
  owner: 4,
};
/** The roles every workspace has (the i18n keys agents.role_*). */
export type BuiltInRole = 'owner' | 'admin' | 'supervisor' | 'agent' | 'developer';
const BUILT_IN: BuiltInRole[] = ['owner', 'admin', 'supervisor', 'agent', 'developer'];

export const ASSIGNABLE: AgentRole[] = ['agent', 'supervisor', 'admin'];

export function canManage(me: Role | undefined, target: string): boolean {
  if (me !== 'owner' && me !== 'admin') return false;
  return (RANK[target] ?? 0) <= (RANK[me] ?? 0);
}

export function rolesGrantable(me: Role | undefined, roles: readonly AgentRole[]): AgentRole[] {
  const mine = RANK[me ?? 'agent'] ?? 0;
  return roles.filter((r) => (RANK[r] === undefined ? mine >= 3 : (RANK[r] ?? 99) <= mine));
}

export function isBuiltInRole(r: string): r is BuiltInRole {
  return (BUILT_IN as string[]).includes(r);
}

/** A role's name to show: built-in roles translated, custom ones as the admins named them. */
export function roleLabel(t: TFunction, r: string): string {
  return isBuiltInRole(r) ? t(`agents.role_${r}`) : r;
}

/** The roles a user may be given here: the built-in ones, then the workspace's custom roles. */
export function useRoleNames(): AgentRole[] {
  const roles = useQuery({
    queryKey: keys.roles,
    queryFn: api.roles.list,
    staleTime: 30_000,
  });
  return [...ASSIGNABLE, ...(roles.data?.roles.filter((r) => !r.built_in).map((r) => r.name) ?? [])];
}
