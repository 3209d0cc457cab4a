import { create } from 'zustand';
import { readStorage, writeStorage } from './storage';

export const TOKEN_KEY = 'kefu:token';

interface AuthState {
  token: string | null;
  /** True when the last sign-out was forced by a 401 (the login page says so). */
  expired: boolean;
  signIn: (token: string) => void;
  signOut: () => void;
  expire: () => void;
}

/** The signed-in user's session token, persisted in localStorage. */
export const useAuth = create<AuthState>()((set) => ({
  token: readStorage(TOKEN_KEY),
  expired: false,
  signIn: (token) => {
    writeStorage(TOKEN_KEY, token);
    set({ token, expired: false });
  },
  signOut: () => {
    writeStorage(TOKEN_KEY, null);
    set({ token: null, expired: false });
  },
  expire: () => {
    writeStorage(TOKEN_KEY, null);
    set((s) => (s.token ? { token: null, expired: true } : s));
  },
}));
