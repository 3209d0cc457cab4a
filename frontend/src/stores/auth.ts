import { create } from 'zustand';
import { readStorage, writeStorage } from './storage';

export const TOKEN_KEY = 'kefu:token';

/** Why a session ended without the user signing out here. */
export type EndReason = 'expired' | 'signed_out' | 'deactivated';

interface AuthState {
  token: string | null;
  /** True when the last sign-out was forced by a 401 or a revoked socket (the login page says so). */
  expired: boolean;
  /** Why, when expired: a 401, or the server's reason for closing the socket. */
  reason: EndReason | null;
  signIn: (token: string) => void;
  signOut: () => void;
  expire: (reason?: EndReason) => void;
}

/** The signed-in user's session token, persisted in localStorage. */
export const useAuth = create<AuthState>()((set) => ({
  token: readStorage(TOKEN_KEY),
  expired: false,
  reason: null,
  signIn: (token) => {
    writeStorage(TOKEN_KEY, token);
    set({ token, expired: false, reason: null });
  },
  signOut: () => {
    writeStorage(TOKEN_KEY, null);
    set({ token: null, expired: false, reason: null });
  },
  expire: (reason = 'expired') => {
    writeStorage(TOKEN_KEY, null);
    set((s) => (s.token ? { token: null, expired: true, reason } : s));
  },
}));
