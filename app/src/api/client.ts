// A small fetch wrapper: JSON in and out, the bearer token, and TinyBase's error envelope.
import { useSession } from '../stores/session'

/** An error answer from the API: `{error: {code, message, details}}`. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: Record<string, string> = {},
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
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.auth !== false && session.token) headers.authorization = `Bearer ${session.token}`
  let response: Response
  try {
    response = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
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
    )
    if (response.status === 401 && opts.auth !== false) session.expired()
    throw apiError
  }
  return data as T
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, { query }),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
  del: (path: string) => request<void>('DELETE', path),
}

/** The message to show for any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
