// The admin UI talks to its server through the first-party client, `@tinybase/client`:
// records, functions, files and realtime through its wrappers, everything else (admin
// endpoints, collection schemas) through its typed openapi-fetch layer `tb.api` with
// `unwrap`, checked against `schema.d.ts` (generated from `app/openapi.json`), so an API
// change breaks `vue-tsc`.
import { LocalStorageTokenStore, TinyBaseError, createClient } from '@tinybase/client'
import type { paths } from './schema'

export { TinyBaseError, unwrap } from '@tinybase/client'

/** Where the admin's session (token, expiry, user) is kept between page loads. */
export const SESSION_KEY = 'tinybase.admin.session'

/** The session's store; the session store forgets a demoted admin's session through it. */
export const tokenStore = new LocalStorageTokenStore(SESSION_KEY)

/** Listeners for a 403 to the session's own token (see `fetchWatchingForbidden`). */
const forbiddenListeners = new Set<() => void>()

/** Calls `listener` when the server refuses the session's token with 403. */
export function onForbidden(listener: () => void): () => void {
  forbiddenListeners.add(listener)
  return () => forbiddenListeners.delete(listener)
}

/**
 * Every request of the client goes through here. Admins pass every rule, so a 403 to the
 * session's token means this account lost its admin rights: the UI then signs out (the
 * client itself only signs out on 401).
 */
async function fetchWatchingForbidden(request: Request): Promise<Response> {
  const sent = request.headers.get('authorization')
  const response = await fetch(request)
  const token = tokenStore.load()?.token
  if (response.status === 403 && token && sent === `Bearer ${token}`) {
    for (const listener of [...forbiddenListeners]) listener()
  }
  return response
}

/** The client for the server that serves this UI. */
export const tb = createClient<paths>({
  baseUrl: location.origin,
  tokenStore,
  fetch: fetchWatchingForbidden,
})

/** The message to show for any thrown value. */
export function messageOf(e: unknown): string {
  if (e instanceof TinyBaseError && e.code === 'network_error') return 'The server cannot be reached.'
  return e instanceof Error ? e.message : String(e)
}
