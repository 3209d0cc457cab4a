import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { keys } from '../realtime/keys';

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: api.me, staleTime: 5 * 60_000 });
}

export function isAdmin(role: string | undefined): boolean {
  return role === 'owner' || role === 'admin';
}
