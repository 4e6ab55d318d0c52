import { createContext, useContext } from 'react';
import type { ConsoleSession } from '../../../shared/protocol/console.ts';

export type SessionValue = {
  session: ConsoleSession;
  /** Admins change the program; managers read it and work on members. */
  isAdmin: boolean;
  signOut: () => void;
};

export const SessionContext = createContext<SessionValue | null>(null);

/** The signed-in user; every page under the layout has one. */
export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside the signed-in layout');
  return value;
}
