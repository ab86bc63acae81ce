/** The client: one object per server, holding the session and every part of the API. */
import { Auth } from "./auth.js";
import { Files } from "./files.js";
import { Functions } from "./functions.js";
import { type FetchLike, Http } from "./http.js";
import { type ChannelOptions, type RecordEvent, type SubscribeOptions, Subscription } from "./realtime.js";
import { Collection } from "./records.js";
import { MemoryTokenStore, SessionState, type TokenStore } from "./session.js";
import type { CollectionName, CreateOf, RecordOf, UpdateOf } from "./types.js";

/** How to reach the server and where to keep the session. */
export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** Where the session lives (default: memory). */
  tokenStore?: TokenStore;
  /** The fetch to use (default: `globalThis.fetch`). */
  fetch?: FetchLike;
}

/**
 * A TinyBase client. `P` is the `paths` interface `typegen` generated for your server;
 * with it, collection names, records, create/update bodies and function inputs/outputs
 * are typed. Without it everything is loose JSON.
 */
export class TinyBase<P extends {} = {}> {
  /** Register, login, logout, the current user and session changes. */
  readonly auth: Auth;
  /** The server's functions. */
  readonly functions: Functions<P>;
  /** File tokens for file URLs (uploads and URLs are on `collection(…)`). */
  readonly files: Files;
  private readonly http: Http<P>;

  constructor(options: ClientOptions) {
    const session = new SessionState(options.tokenStore ?? new MemoryTokenStore());
    const fetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
    this.http = new Http<P>(options.baseUrl.replace(/\/+$/, ""), session, fetch);
    const untyped = this.http as unknown as Http<{}>;
    this.auth = new Auth(untyped);
    this.functions = new Functions<P>(untyped);
    this.files = new Files(untyped);
  }

  /**
   * The typed openapi-fetch client with the session's token, for every endpoint the
   * wrappers do not cover (admin endpoints, schedules, …): `client.api.GET("/api/health")`.
   */
  get api(): Http<P>["api"] {
    return this.http.api;
  }

  /** The records of collection `name`. */
  collection<N extends CollectionName<P>>(name: N): Collection<RecordOf<P, N>, CreateOf<P, N>, UpdateOf<P, N>> {
    return new Collection(this.http as unknown as Http<{}>, name);
  }

  /**
   * Calls `callback` for every change to a record of `collection` the signed-in user may
   * see (and matching `options.filter`). Resolves once the server has accepted the
   * subscription, so changes made after it resolves are delivered.
   */
  async subscribe<N extends CollectionName<P>>(
    collection: N,
    options: SubscribeOptions,
    callback: (event: RecordEvent<RecordOf<P, N>>) => void,
  ): Promise<Subscription<RecordOf<P, N>>> {
    const subscription = new Subscription<RecordOf<P, N>>(
      this.http as unknown as Http<{}>,
      { collection },
      options,
      callback,
    );
    await subscription.start();
    return subscription;
  }

  /**
   * Calls `callback` with the data of every message a function publishes on `channel`
   * (`ctx.realtime().publish(channel, data)` on the server). Messages are not kept: one
   * published while the stream is reconnecting is not delivered. Resolves once subscribed.
   */
  async subscribeChannel<T = unknown>(
    channel: string,
    callback: (data: T) => void,
    options: ChannelOptions = {},
  ): Promise<Subscription<T>> {
    const subscription = new Subscription<T>(this.http as unknown as Http<{}>, { channel }, options, callback);
    await subscription.start();
    return subscription;
  }
}

/** Creates a client for the server at `options.baseUrl`. */
export function createClient<P extends {} = {}>(options: ClientOptions): TinyBase<P> {
  return new TinyBase<P>(options);
}
