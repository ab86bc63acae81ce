/** Sessions: where the signed-in user's token is kept and who hears when it changes. */

/** A signed-in user as the server describes them (`GET /api/auth/me`). */
export interface User {
  id: string;
  email: string;
  is_admin: boolean;
  created_at: string;
  updated_at: string;
  [key: string]: unknown;
}

/** What `register` and `login` answer: the bearer token, when it expires, and the user. */
export interface Session {
  token: string;
  expires_at: string;
  user: User;
}

/**
 * Where the session lives between calls (and, for a persistent store, between page loads).
 * Implement it to keep sessions anywhere else (a cookie, secure storage on mobile).
 */
export interface TokenStore {
  /** The stored session, or null. */
  load(): Session | null;
  /** Stores `session`, or forgets the stored one when null. */
  save(session: Session | null): void;
}

/** Keeps the session in memory only: it ends with the process or page. */
export class MemoryTokenStore implements TokenStore {
  private session: Session | null = null;

  /** {@inheritDoc TokenStore.load} */
  load(): Session | null {
    return this.session;
  }

  /** {@inheritDoc TokenStore.save} */
  save(session: Session | null): void {
    this.session = session;
  }
}

/** The part of the Web Storage API a {@link LocalStorageTokenStore} needs. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Keeps the session in `localStorage` (or any Web Storage) under one key, so it survives
 * reloads. A stored value that is not a session is ignored.
 */
export class LocalStorageTokenStore implements TokenStore {
  /**
   * @param key The storage key (default `tinybase_session`).
   * @param storage The storage (default `globalThis.localStorage`).
   */
  constructor(
    private readonly key = "tinybase_session",
    private readonly storage: StorageLike = globalThis.localStorage,
  ) {
    if (!storage) {
      throw new Error("LocalStorageTokenStore: no localStorage here; pass a storage or use MemoryTokenStore");
    }
  }

  /** {@inheritDoc TokenStore.load} */
  load(): Session | null {
    const text = this.storage.getItem(this.key);
    if (text === null) return null;
    try {
      const value: unknown = JSON.parse(text);
      return isSession(value) ? value : null;
    } catch {
      return null;
    }
  }

  /** {@inheritDoc TokenStore.save} */
  save(session: Session | null): void {
    if (session === null) this.storage.removeItem(this.key);
    else this.storage.setItem(this.key, JSON.stringify(session));
  }
}

/** Why the session changed, passed to session listeners. */
export type SessionChangeReason = "login" | "register" | "logout" | "expired" | "set";

/** A listener for session changes: the new session (null when signed out) and why. */
export type SessionListener = (session: Session | null, reason: SessionChangeReason) => void;

/** The current session over a store, with change notifications. */
export class SessionState {
  private readonly listeners = new Set<SessionListener>();

  /** Wraps `store`; the session it already holds is the current one. */
  constructor(private readonly store: TokenStore) {}

  /** The current session, or null. */
  get current(): Session | null {
    return this.store.load();
  }

  /** The current bearer token, or null. */
  get token(): string | null {
    return this.store.load()?.token ?? null;
  }

  /** Replaces the session and tells every listener. */
  set(session: Session | null, reason: SessionChangeReason): void {
    this.store.save(session);
    for (const listener of [...this.listeners]) listener(session, reason);
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  onChange(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function isSession(value: unknown): value is Session {
  const v = value as Session | null;
  return (
    v !== null &&
    typeof v === "object" &&
    typeof v.token === "string" &&
    typeof v.expires_at === "string" &&
    v.user !== null &&
    typeof v.user === "object"
  );
}
