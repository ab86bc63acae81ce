/**
 * Realtime: a server-sent-events stream read over fetch, its subscriptions, and
 * reconnecting with `client_id` and `Last-Event-ID` so missed events are replayed.
 */
import { TinyBaseError, readError } from "./errors.js";
import type { Http } from "./http.js";
import { type ServerSentEvent, readEvents } from "./sse.js";

/** A change to a record: what happened, in which collection, and the record. */
export interface RecordEvent<R> {
  action: "create" | "update" | "delete";
  collection: string;
  /** The record after the change (as it was, for a delete). */
  record: R;
}

/** What to subscribe to, and the callbacks beyond the record events. */
export interface SubscribeOptions {
  /** Only records matching this filter expression (as in record lists). */
  filter?: string;
  /** Only this record. */
  recordId?: string;
  /**
   * The server could not replay what was missed while disconnected (the change log no
   * longer covers it, or it forgot this client): reload what you show.
   */
  onReset?: () => void;
  /**
   * Delivery ended for good: the stream's identity is no longer valid (`event: error`),
   * or the server refused to connect or subscribe. No reconnect follows.
   */
  onError?: (error: TinyBaseError) => void;
  /** Each time the stream (re)connects, with its client id. */
  onConnect?: (clientId: string) => void;
  /**
   * The stream dropped after it had connected (network, server restart); a reconnect
   * follows by itself and {@link onConnect} says when it is back. For a "live" indicator.
   */
  onDisconnect?: () => void;
}

/** The callbacks of a channel subscription (channel messages are not replayed). */
export type ChannelOptions = Pick<SubscribeOptions, "onError" | "onConnect" | "onDisconnect">;

/** What a stream is subscribed to: a collection's records, or a channel functions publish on. */
export type Topic = { collection: string } | { channel: string };

/** Waits between reconnects: 250 ms, doubling to at most 5 s. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * A live subscription: one stream of events for one topic (a collection's records, or a
 * channel's messages). It reconnects by itself until {@link unsubscribe} is called or
 * delivery ends with an error.
 */
export class Subscription<R> {
  private clientIdValue: string | undefined;
  private lastEventIdValue: string | undefined;
  private readonly abort = new AbortController();
  private closed = false;
  /** A reset was reported for a forgotten client id; the server's own would repeat it. */
  private resetAnnounced = false;
  private ready: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  /** The stream is open and subscribed (between `connected` and its end). */
  private connected = false;

  /** @internal Use `client.subscribe`. */
  constructor(
    private readonly http: Http<{}>,
    private readonly topic: Topic,
    private readonly options: SubscribeOptions,
    /** A record event for a collection topic; a message's `data` for a channel. */
    private readonly callback: (payload: never) => void,
  ) {}

  /** The client id the server knows this stream as (after the first connect). */
  get clientId(): string | undefined {
    return this.clientIdValue;
  }

  /** The id of the last record event received, sent as `Last-Event-ID` on reconnect. */
  get lastEventId(): string | undefined {
    return this.lastEventIdValue;
  }

  /** Whether the subscription has ended (unsubscribed, or delivery ended with an error). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Connects; resolves once subscribed, rejects when the first connect fails. */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.ready = { resolve, reject };
    });
    void this.run();
    return ready;
  }

  /** Stops delivery and closes the stream. */
  unsubscribe(): void {
    this.closed = true;
    this.abort.abort();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        const response = await this.open();
        for await (const event of readEvents(response.body as ReadableStream<Uint8Array>)) {
          attempt = 0;
          await this.handle(event);
          if (this.closed) break;
        }
      } catch (error) {
        if (this.closed) break;
        if (error instanceof TinyBaseError && error.status >= 400 && error.status < 500 && error.status !== 429) {
          this.fail(error);
          break;
        }
        if (this.ready) {
          // The first connect failed: report it rather than retry unseen.
          this.fail(error instanceof TinyBaseError ? error : new TinyBaseError(0, "network_error", String(error)));
          break;
        }
        // Anything else (network, 5xx, 429) is worth another try.
      }
      if (this.closed) break;
      // Said once per drop, not for each failed reconnect while the server is away.
      if (this.connected) {
        this.connected = false;
        this.options.onDisconnect?.();
      }
      const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
      attempt += 1;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async open(): Promise<Response> {
    const url = new URL(`${this.http.baseUrl}/api/realtime`);
    const headers: Record<string, string> = { accept: "text/event-stream", ...this.http.authHeaders() };
    if (this.clientIdValue !== undefined) {
      url.searchParams.set("client_id", this.clientIdValue);
      if (this.lastEventIdValue !== undefined) headers["last-event-id"] = this.lastEventIdValue;
    }
    const response = await this.http.fetch(new Request(url, { headers, signal: this.abort.signal }));
    if (!response.ok || response.body === null) {
      this.http.noteStatus(response.status, headers.authorization ?? null);
      throw await readError(response);
    }
    return response;
  }

  private async handle(event: ServerSentEvent): Promise<void> {
    switch (event.event) {
      case "connected": {
        const { client_id: clientId } = JSON.parse(event.data) as { client_id: string };
        // A resumed stream keeps its subscriptions; a new client id has none yet.
        if (clientId !== this.clientIdValue) {
          const forgotten = this.clientIdValue !== undefined;
          this.clientIdValue = clientId;
          await this.subscribe(clientId);
          if (forgotten) {
            // The server forgot this client (it keeps a disconnected one for minutes):
            // nothing is replayed, so what was missed is lost. The server does not say
            // `reset` then, so the client does; should it, the duplicate is dropped.
            this.resetAnnounced = true;
            this.options.onReset?.();
          }
        }
        this.connected = true;
        this.options.onConnect?.(clientId);
        this.ready?.resolve();
        this.ready = undefined;
        return;
      }
      case "record":
        this.resetAnnounced = false;
        if (this.closed) return;
        if (event.id !== undefined) this.lastEventIdValue = event.id;
        (this.callback as (event: RecordEvent<R>) => void)(JSON.parse(event.data) as RecordEvent<R>);
        return;
      case "message": {
        if (this.closed || !("channel" in this.topic)) return;
        const message = JSON.parse(event.data) as { channel: string; data: unknown };
        if (message.channel === this.topic.channel) (this.callback as (data: unknown) => void)(message.data);
        return;
      }
      case "reset":
        if (!this.resetAnnounced) this.options.onReset?.();
        this.resetAnnounced = false;
        return;
      case "error": {
        const body = JSON.parse(event.data) as { error?: { code?: string; message?: string } };
        this.fail(
          new TinyBaseError(401, body.error?.code ?? "unauthorized", body.error?.message ?? "realtime delivery ended"),
        );
        return;
      }
      default:
        return;
    }
  }

  private async subscribe(clientId: string): Promise<void> {
    const spec =
      "channel" in this.topic
        ? { channel: this.topic.channel }
        : { collection: this.topic.collection, record_id: this.options.recordId ?? null, filter: this.options.filter ?? null };
    const request = new Request(`${this.http.baseUrl}/api/realtime/${encodeURIComponent(clientId)}/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...this.http.authHeaders() },
      body: JSON.stringify({ subscriptions: [spec] }),
      signal: this.abort.signal,
    });
    const response = await this.http.fetch(request);
    if (!response.ok) {
      this.http.noteStatus(response.status, request.headers.get("authorization"));
      throw await readError(response);
    }
  }

  private fail(error: TinyBaseError): void {
    this.closed = true;
    this.abort.abort();
    if (this.ready) {
      this.ready.reject(error);
      this.ready = undefined;
    } else {
      this.options.onError?.(error);
    }
  }
}
