import { useQueryClient } from '@tanstack/react-query';
import type { Me, User } from '../api';
import { keys } from '../realtime/keys';

/** The signed-in user from the cache (the shell loads it before rendering pages). */
export function useMeQueryData(): User | undefined {
  return useQueryClient().getQueryData<Me>(keys.me)?.user;
}
