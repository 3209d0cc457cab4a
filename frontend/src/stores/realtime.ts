import { create } from 'zustand';
import type { RealtimeClient, RealtimeStatus } from '../ws/client';

interface RealtimeState {
  client: RealtimeClient | null;
  status: RealtimeStatus;
  set: (p: Partial<Pick<RealtimeState, 'client' | 'status'>>) => void;
}

/** The console's one WebSocket connection and its status. */
export const useRealtime = create<RealtimeState>()((set) => ({
  client: null,
  status: 'idle',
  set: (p) => set(p),
}));
