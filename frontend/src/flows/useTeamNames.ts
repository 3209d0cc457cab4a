import { useEffect } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, type Team } from '../api';
import { keys } from '../realtime/keys';
import { teamNames } from './teamNames';

/** The tenant's teams, kept in teamNames for the canvas's summaries. */
export function useTeamNames() {
  const q = useQuery<Team[]>({ queryKey: keys.teams, queryFn: api.teams.list, staleTime: 60_000, retry: false });
  useEffect(() => {
    for (const tm of q.data ?? []) teamNames.set(tm.id, tm.name);
  }, [q.data]);
  return q;
}
