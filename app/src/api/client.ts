// A small fetch wrapper: JSON in and out, the bearer token, and TinyBase's error envelope.
import { useSession } from '../stores/session'
import type { paths } from './schema'

/** An error answer from the API: `{error: {code, message, details}}`. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: Record<string, string> = {},
    public details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

type Query = Record<string, string | number | boolean | undefined | null>

function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  }
  const s = params.toString()
  return s ? `${path}?${s}` : path
}

export async function request<T>(
  method: string,
  path: string,
  opts: { body?: unknown; query?: Query; auth?: boolean } = {},
): Promise<T> {
  const session = useSession()
  const headers: Record<string, string> = { accept: 'application/json' }
  // A form (with files) sets its own multipart content type and boundary.
  const form = opts.body instanceof FormData ? opts.body : null
  if (opts.body !== undefined && !form) headers['content-type'] = 'application/json'
  if (opts.auth !== false && session.token) headers.authorization = `Bearer ${session.token}`
  let response: Response
  try {
    response = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      body: form ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    })
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.')
  }
  if (response.status === 204) return undefined as T
  let data: any = null
  try {
    data = await response.json()
  } catch {
    data = null
  }
  if (!response.ok) {
    const err = data?.error ?? {}
    const apiError = new ApiError(
      response.status,
      err.code ?? 'unknown',
      err.message ?? `Request failed with status ${response.status}`,
      err.details?.fields ?? {},
      err.details ?? {},
    )
    if (response.status === 401 && opts.auth !== false) session.expired()
    // Admins pass every rule, so a 403 means this account lost its admin rights.
    if (response.status === 403 && opts.auth !== false) session.expired('This account is no longer an admin.')
    throw apiError
  }
  return data as T
}

// Typed calls: the path must be one of `/openapi.json`'s paths, and the body and the
// answer take that operation's types, so an API change breaks `vue-tsc`.
type Method = 'get' | 'post' | 'patch' | 'delete'
type PathWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, object> ? P : never
}[keyof paths]
type Op<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : void
type Answer<O> = O extends { responses: infer R }
  ? R extends { 200: infer A } ? JsonOf<A> : R extends { 201: infer B } ? JsonOf<B> : void
  : never
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never
type Params = Record<string, string>

/** Fills `{name}` placeholders of an OpenAPI path. */
function fill(path: string, params?: Params): string {
  return path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params?.[k] ?? ''))
}

export const api = {
  get: <P extends PathWith<'get'>>(path: P, opts: { params?: Params; query?: QueryOf<Op<P, 'get'>> } = {}) =>
    request<Answer<Op<P, 'get'>>>('GET', fill(path, opts.params), { query: opts.query as Query }),
  post: <P extends PathWith<'post'>>(path: P, body: BodyOf<Op<P, 'post'>>, params?: Params) =>
    request<Answer<Op<P, 'post'>>>('POST', fill(path, params), { body }),
  patch: <P extends PathWith<'patch'>>(path: P, body: Partial<BodyOf<Op<P, 'patch'>>>, params?: Params) =>
    request<Answer<Op<P, 'patch'>>>('PATCH', fill(path, params), { body }),
  del: <P extends PathWith<'delete'>>(path: P, params?: Params) =>
    request<void>('DELETE', fill(path, params)),
}

/** The message to show for any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
