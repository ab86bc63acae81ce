// The realtime client: one server-sent-events stream that follows one collection's record
// changes as the signed-in admin (see the README's "Realtime").
//
// The stream's first event is `connected` with the client id; the subscription is posted
// with the admin's token. When the connection drops, the stream is reopened with
// `?client_id=` (and the last event id), so the server keeps the subscription and replays
// what was missed; if it no longer knows the id, it hands out a new one and the
// subscription is posted again.
import { api } from './client'
import type { RecordItem } from './types'

/** A `record` event's data. */
export interface RecordEvent {
  action: 'create' | 'update' | 'delete'
  collection: string
  record: RecordItem
}

export type LiveState = 'connecting' | 'live' | 'offline'

export interface WatchOptions {
  /** Something changed: a record event for the collection, a `reset`, or a reconnect. */
  onChange: (event: RecordEvent | null) => void
  /** The connection's state, for an indicator. */
  onState?: (state: LiveState) => void
}

const MAX_RETRY_MS = 30_000

/** Follows `collection`'s record changes until the returned function is called. */
export function watchCollection(collection: string, options: WatchOptions): () => void {
  let source: EventSource | null = null
  let clientId: string | null = null
  let subscribedId: string | null = null
  let lastEventId: string | null = null
  let retryMs = 1000
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  let everLive = false

  const setState = (state: LiveState) => {
    if (!stopped) options.onState?.(state)
  }

  function open() {
    setState('connecting')
    const query = new URLSearchParams()
    if (clientId) query.set('client_id', clientId)
    if (clientId && lastEventId) query.set('last_event_id', lastEventId)
    const search = query.toString()
    const es = new EventSource(search ? `/api/realtime?${search}` : '/api/realtime')
    source = es

    es.addEventListener('connected', (e) => {
      const { client_id } = JSON.parse((e as MessageEvent).data) as { client_id: string }
      clientId = client_id
      retryMs = 1000
      if (subscribedId === client_id) {
        live()
        return
      }
      api
        .post('/api/realtime/{client_id}/subscriptions', { subscriptions: [{ collection }] }, { client_id })
        .then(() => {
          if (stopped || source !== es) return
          subscribedId = client_id
          live()
        })
        .catch(() => {
          // The API client already signs out on 401/403; otherwise try again later.
          if (source === es) retry()
        })
    })
    es.addEventListener('record', (e) => {
      const message = e as MessageEvent
      if (message.lastEventId) lastEventId = message.lastEventId
      const event = JSON.parse(message.data) as RecordEvent
      if (event.collection === collection) options.onChange(event)
    })
    // The change log no longer reaches back far enough: reload.
    es.addEventListener('reset', () => options.onChange(null))
    es.addEventListener('error', (e) => {
      if (source !== es) return
      if (e instanceof MessageEvent && e.data) {
        // `event: error` from the server: the subscribing token is no longer valid. A
        // reload asks the API, which sends the admin back to the login page if need be.
        subscribedId = null
        options.onChange(null)
      }
      retry()
    })
  }

  /** Subscribed: after a reconnect, catch up on anything the replay could not cover. */
  function live() {
    setState('live')
    if (everLive) options.onChange(null)
    everLive = true
  }

  function retry() {
    source?.close()
    source = null
    setState('offline')
    if (stopped || retryTimer !== undefined) return
    retryTimer = setTimeout(() => {
      retryTimer = undefined
      if (!stopped) open()
    }, retryMs)
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
  }

  open()
  return () => {
    stopped = true
    clearTimeout(retryTimer)
    source?.close()
    source = null
  }
}
