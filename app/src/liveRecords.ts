// Following one collection's record changes for the records page, through the client's
// realtime subscription (one server-sent-events stream, delivered as the signed-in admin).
//
// The client reconnects a dropped stream by itself and the server replays what was missed;
// this adds what the page needs on top: a state for the "live" indicator, a reload after
// every reconnect (to catch up on anything a replay could not cover), and starting over
// when the subscription could not start or ended for good.
import { tb } from './api/tinybase'

/** The stream's state, for an indicator. */
export type LiveState = 'connecting' | 'live' | 'offline'

export interface WatchOptions {
  /** Something changed: a record event for the collection, a reset, or a reconnect. */
  onChange: () => void
  /** The stream's state. */
  onState?: (state: LiveState) => void
}

/** Waits before starting over: 1 s, doubling to at most 30 s. */
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 30_000

/** Follows `collection`'s record changes until the returned function is called. */
export function watchCollection(collection: string, options: WatchOptions): () => void {
  let subscription: { unsubscribe(): void } | null = null
  let retryMs = RETRY_MIN_MS
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let everLive = false

  const setState = (state: LiveState) => {
    if (!stopped) options.onState?.(state)
  }

  function start() {
    setState('connecting')
    tb.subscribe(collection, {
      onConnect: () => {
        setState('live')
        retryMs = RETRY_MIN_MS
        // Back after a drop: catch up on anything the replay could not cover.
        if (everLive) options.onChange()
        everLive = true
      },
      onDisconnect: () => setState('offline'),
      // The server could not replay what was missed: reload.
      onReset: options.onChange,
      // Delivery ended for good (the subscribing token is no longer valid): a reload asks
      // the API, which sends the admin back to the login page if need be.
      onError: () => {
        subscription = null
        options.onChange()
        retry()
      },
    }, () => options.onChange())
      .then((started) => {
        if (stopped) started.unsubscribe()
        else subscription = started
      })
      .catch(() => retry())
  }

  function retry() {
    setState('offline')
    if (stopped || retryTimer !== undefined) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (!stopped) start()
    }, retryMs)
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
  }

  start()
  return () => {
    stopped = true
    clearTimeout(retryTimer)
    subscription?.unsubscribe()
    subscription = null
  }
}
