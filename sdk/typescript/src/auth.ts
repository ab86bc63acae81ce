/** Signing up, in and out, and the current user. */
import { TinyBaseError } from "./errors.js";
import type { Http } from "./http.js";
import type { Session, SessionListener, User } from "./session.js";

/** Email and password, as `register` and `login` take them. */
export interface Credentials {
  email: string;
  password: string;
}

/** A TOTP secret being set up: show `otpauth_url` as a QR code, or `secret` to type in. */
export interface TotpSetup {
  secret: string;
  otpauth_url: string;
}

/** An OAuth2 / OpenID Connect provider the server signs in with. */
export interface OAuth2Provider {
  name: string;
  display_name: string;
}

/**
 * The auth endpoints (`/api/auth/…`) bound to the client's session: sign-up and sign-in
 * (with a TOTP second factor or through an OpenID Connect provider), the mail flows
 * (verification, password reset, email change) and TOTP set-up.
 */
export class Auth {
  constructor(private readonly http: Http<{}>) {}

  /** The current session (token, expiry, user), or null when signed out. */
  get session(): Session | null {
    return this.http.session.current;
  }

  /** The signed-in user as of sign-in, or null. {@link me} asks the server. */
  get user(): User | null {
    return this.http.session.current?.user ?? null;
  }

  /** Whether there is a session (the server may still refuse it; see {@link me}). */
  get isSignedIn(): boolean {
    return this.http.session.token !== null;
  }

  /** Creates an account and signs in as it. */
  async register(credentials: Credentials): Promise<Session> {
    const session = await this.http.call<Session>("POST", "/api/auth/register", { body: credentials });
    this.http.session.set(session, "register");
    return session;
  }

  /** Signs in. */
  async login(credentials: Credentials): Promise<Session> {
    const session = await this.http.call<Session>("POST", "/api/auth/login", { body: credentials });
    this.http.session.set(session, "login");
    return session;
  }

  /**
   * Signs out: revokes the token on the server, then forgets it here. The local session
   * ends even when the server cannot be reached (the error is still thrown then); a token
   * the server already refuses (401) is simply forgotten.
   */
  async logout(): Promise<void> {
    if (this.http.session.token === null) return;
    try {
      await this.http.call<void>("POST", "/api/auth/logout");
    } catch (error) {
      if (!(error instanceof TinyBaseError && error.status === 401)) throw error;
    } finally {
      if (this.http.session.token !== null) this.http.session.set(null, "logout");
    }
  }

  /** The signed-in user, from the server (a refused token signs out and throws 401). */
  async me(): Promise<User> {
    const user = await this.http.call<User>("GET", "/api/auth/me");
    const session = this.http.session.current;
    if (session) this.http.session.set({ ...session, user }, "set");
    return user;
  }

  /**
   * Changes the signed-in user's password. Every other token of the user stops working;
   * the session moves to the new token the server answers with.
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<Session> {
    const session = await this.http.call<Session>("POST", "/api/auth/password", {
      body: { current_password: currentPassword, new_password: newPassword },
    });
    this.http.session.set(session, "login");
    return session;
  }

  // -- second factor (TOTP) ------------------------------------------------------------

  /**
   * Completes a sign-in that `login` refused with `mfa_required`: `mfaToken` is that
   * error's `details.mfa_token`, `code` the authenticator's current code (or a recovery
   * code).
   *
   * ```ts
   * try {
   *   await tb.auth.login({ email, password });
   * } catch (e) {
   *   if (e instanceof TinyBaseError && e.code === "mfa_required") {
   *     await tb.auth.verifyMfa(e.details!.mfa_token as string, await askForCode());
   *   } else throw e;
   * }
   * ```
   */
  async verifyMfa(mfaToken: string, code: string): Promise<Session> {
    const session = await this.http.call<Session>("POST", "/api/auth/mfa/verify", {
      body: { mfa_token: mfaToken, code },
    });
    this.http.session.set(session, "login");
    return session;
  }

  /** Starts TOTP set-up for the signed-in user; {@link confirmTotp} turns it on. */
  setupTotp(): Promise<TotpSetup> {
    return this.http.call<TotpSetup>("POST", "/api/auth/mfa/totp/setup");
  }

  /** Turns TOTP on with a first code from the authenticator; from then on login asks for one. */
  async confirmTotp(code: string): Promise<void> {
    await this.http.call<void>("POST", "/api/auth/mfa/totp/confirm", { body: { code } });
  }

  /**
   * Turns TOTP off, proven with a current code or an unused recovery code (a session alone
   * is not enough); from then on the password alone signs in.
   */
  async disableTotp(code: string): Promise<void> {
    await this.http.call<void>("POST", "/api/auth/mfa/totp/disable", { body: { code } });
  }

  /** Ten new one-time recovery codes (shown once; asking again replaces them). */
  async recoveryCodes(): Promise<string[]> {
    const { codes } = await this.http.call<{ codes: string[] }>("POST", "/api/auth/mfa/recovery-codes");
    return codes;
  }

  // -- mail flows ----------------------------------------------------------------------

  /** Mails a verification link to `email` (the answer is the same whether or not it exists). */
  async requestVerification(email: string): Promise<void> {
    await this.http.call<void>("POST", "/api/auth/verification/request", { body: { email } });
  }

  /** Marks the email of the mail's account verified; resolves to that user. */
  confirmVerification(token: string): Promise<User> {
    return this.http.call<User>("POST", "/api/auth/verification/confirm", { body: { token } });
  }

  /** Mails a password-reset link to `email` (the answer is the same whether or not it exists). */
  async requestPasswordReset(email: string): Promise<void> {
    await this.http.call<void>("POST", "/api/auth/password-reset/request", { body: { email } });
  }

  /** Sets a new password with the mailed token; every session of that user ends. */
  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    await this.http.call<void>("POST", "/api/auth/password-reset/confirm", {
      body: { token, new_password: newPassword },
    });
  }

  /** Mails a confirmation link to `newEmail` for the signed-in user. */
  async requestEmailChange(newEmail: string): Promise<void> {
    await this.http.call<void>("POST", "/api/auth/email-change/request", { body: { new_email: newEmail } });
  }

  /** Moves the account to the new address with the mailed token; resolves to the user. */
  async confirmEmailChange(token: string): Promise<User> {
    const user = await this.http.call<User>("POST", "/api/auth/email-change/confirm", { body: { token } });
    const session = this.http.session.current;
    if (session && session.user.id === user.id) this.http.session.set({ ...session, user }, "set");
    return user;
  }

  // -- OAuth2 / OpenID Connect ---------------------------------------------------------

  /** The providers the server signs in with. */
  oauth2Providers(): Promise<OAuth2Provider[]> {
    return this.http.call<OAuth2Provider[]>("GET", "/api/auth/oauth2/providers");
  }

  /**
   * Where to send the browser to sign in with `provider`; the server brings it back to
   * `redirectTo` (one of `auth.oauth2_redirect_urls`) with `?code=…` for
   * {@link exchangeOAuth2Code}, or `?error=…`.
   */
  oauth2StartUrl(provider: string, redirectTo: string): string {
    const query = new URLSearchParams({ redirect_to: redirectTo });
    return `${this.http.baseUrl}/api/auth/oauth2/${encodeURIComponent(provider)}/start?${query}`;
  }

  /** Signs in with the one-time `code` the OAuth2 redirect brought back. */
  async exchangeOAuth2Code(code: string): Promise<Session> {
    const session = await this.http.call<Session>("POST", "/api/auth/oauth2/exchange", { body: { code } });
    this.http.session.set(session, "login");
    return session;
  }

  /** Calls `listener` whenever the session changes; returns the function that stops it. */
  onChange(listener: SessionListener): () => void {
    return this.http.session.onChange(listener);
  }
}
