import { create } from 'zustand';
import type { PresenceStatus } from '../api/types';
import { readStorage, writeStorage } from './storage';

const KEY = 'kefu:presence';

interface PresenceState {
  /** What the agent chose; re-sent after every (re)connect. */
  wanted: PresenceStatus;
  /** What the server last confirmed for this connection (null until it does). */
  confirmed: PresenceStatus | null;
  choose: (s: PresenceStatus) => void;
  confirm: (s: PresenceStatus | null) => void;
}

function initial(): PresenceStatus {
  const v = readStorage(KEY);
  return v === 'away' || v === 'offline' || v === 'online' ? v : 'online';
}

export const usePresence = create<PresenceState>()((set) => ({
  wanted: initial(),
  confirmed: null,
  choose: (wanted) => {
    writeStorage(KEY, wanted);
    set({ wanted });
  },
  confirm: (confirmed) => set({ confirmed }),
}));
