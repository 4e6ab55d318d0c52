/**
 * The counter's local token arrives in the page's #fragment (never sent to a server, never in a
 * log); it is kept for this tab in sessionStorage and taken off the visible address at once.
 */

const TOKEN_KEY = 'showroom-loyalty.token';
const SESSION_KEY = 'showroom-loyalty.session';

/** The token in "#token=XXXX" (other fragment fields allowed); undefined without one. */
export function tokenFromHash(hash: string): string | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token')?.trim();
  return token === undefined || token === '' ? undefined : token;
}

/** Reads the token from the address (then removes it from there) or from this tab's storage. */
export function takeToken(): string | null {
  const fromHash = tokenFromHash(window.location.hash);
  if (fromHash !== undefined) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function savedSession(): string | null {
  return sessionStorage.getItem(SESSION_KEY);
}

export function saveSession(session: string | null): void {
  if (session === null) sessionStorage.removeItem(SESSION_KEY);
  else sessionStorage.setItem(SESSION_KEY, session);
}
