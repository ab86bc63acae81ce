/**
 * The HTTP layer every part of the client shares: an openapi-fetch client with the
 * session's bearer token added to each request, and sign-out when the server refuses
 * that token (401).
 */
import createFetchClient, { type Client, type Middleware } from "openapi-fetch";

import { TinyBaseError, errorFromResponse } from "./errors.js";
import type { SessionState } from "./session.js";

/**
 * Paths that never carry the session's token: signing in or up, and the flows that work
 * without a session (a 401 there says nothing about the current session).
 */
const ANONYMOUS_PATHS = new Set([
  "/api/auth/login",
  "/api/auth/register",
  "/api/auth/mfa/verify",
  "/api/auth/oauth2/exchange",
  "/api/auth/verification/request",
  "/api/auth/verification/confirm",
  "/api/auth/password-reset/request",
  "/api/auth/password-reset/confirm",
]);

/** A fetch function, as `globalThis.fetch`. */
export type FetchLike = (input: Request) => Promise<Response>;

/** The shared transport: base URL, fetch, session and the typed openapi-fetch client. */
export class Http<P extends {}> {
  /** The typed openapi-fetch client, for endpoints the wrappers do not cover. */
  readonly api: Client<P>;

  constructor(
    readonly baseUrl: string,
    readonly session: SessionState,
    readonly fetch: FetchLike,
  ) {
    this.api = createFetchClient<P>({ baseUrl, fetch: (request) => this.fetch(request) });
    this.api.use(this.authMiddleware());
  }

  /** Headers with the session's token, for requests made outside openapi-fetch. */
  authHeaders(): Record<string, string> {
    const token = this.session.token;
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /**
   * Signs out when the server answers 401 to the token of the current session: it was
   * revoked, expired, or its user deleted, so keeping it would only fail again.
   */
  noteStatus(status: number, sentAuthorization: string | null): void {
    const token = this.session.token;
    if (status === 401 && token !== null && sentAuthorization === `Bearer ${token}`) {
      this.session.set(null, "expired");
    }
  }

  /**
   * Calls `method path` (a concrete path, parameters already filled in) with an optional
   * query and JSON body; resolves to the response's JSON (undefined for 204) or throws a
   * {@link TinyBaseError}.
   */
  async call<T>(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    options: { query?: Record<string, unknown>; body?: unknown } = {},
  ): Promise<T> {
    // The wrappers build paths at run time (a collection's, a function's); their types
    // come from ./types.ts, so the untyped openapi-fetch call is deliberate here.
    const api = this.api as unknown as Record<
      string,
      (path: string, init: Record<string, unknown>) => Promise<{ data?: unknown; error?: unknown; response: Response }>
    >;
    const init: Record<string, unknown> = {};
    if (options.query) init.params = { query: dropUndefined(options.query) };
    if (options.body !== undefined) init.body = options.body;
    let result;
    try {
      result = await api[method](path, init);
    } catch (error) {
      throw new TinyBaseError(0, "network_error", `${method} ${path}: ${String(error)}`);
    }
    if (!result.response.ok) throw errorFromResponse(result.response, result.error);
    return result.data as T;
  }

  /**
   * Sends `form` as `multipart/form-data` to `method path` with the session's token;
   * resolves to the response's JSON or throws a {@link TinyBaseError}. openapi-fetch
   * serialises JSON bodies only, so uploads go through here.
   */
  async sendForm<T>(method: "POST" | "PATCH", path: string, form: FormData): Promise<T> {
    const headers = this.authHeaders();
    let response: Response;
    try {
      response = await this.fetch(new Request(`${this.baseUrl}${path}`, { method, headers, body: form }));
    } catch (error) {
      throw new TinyBaseError(0, "network_error", `${method} ${path}: ${String(error)}`);
    }
    this.noteStatus(response.status, headers.authorization ?? null);
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) throw errorFromResponse(response, body);
    return body as T;
  }

  private authMiddleware(): Middleware {
    return {
      onRequest: ({ request, schemaPath }) => {
        const token = this.session.token;
        // Signing in or up goes without the current token: a 401 there (a wrong
        // password) says nothing about the session.
        if (token && !ANONYMOUS_PATHS.has(schemaPath) && !request.headers.has("authorization")) {
          request.headers.set("authorization", `Bearer ${token}`);
        }
        return request;
      },
      onResponse: ({ request, response }) => {
        this.noteStatus(response.status, request.headers.get("authorization"));
        return response;
      },
    };
  }
}

function dropUndefined(query: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null));
}
