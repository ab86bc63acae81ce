/**
 * Throwing calls through the typed openapi-fetch client (`client.api`), for the endpoints
 * the wrappers do not cover: admin endpoints, collection schemas, schedules, webhooks.
 */
import { TinyBaseError, errorFromResponse } from "./errors.js";

/** What an openapi-fetch call resolves to: the data of a success or the error body, and the response. */
export interface ApiResult<D> {
  data?: D;
  error?: unknown;
  response: Response;
}

/**
 * The data a call made with `client.api` answered, or a {@link TinyBaseError} for an error
 * answer (the server's envelope) or a request that never got one (`network_error`,
 * status 0). openapi-fetch itself resolves both successes and failures; this makes the
 * typed layer fail like the wrappers do. Answers without a body (204) resolve to
 * `undefined`.
 *
 * ```ts
 * const users = await unwrap(tb.api.GET("/api/admin/users", { params: { query: { page: 1 } } }));
 * await unwrap(tb.api.DELETE("/api/admin/users/{id}", { params: { path: { id } } }));
 * ```
 */
export async function unwrap<D>(call: Promise<ApiResult<D>>): Promise<[D] extends [never] ? undefined : D> {
  let result: ApiResult<D>;
  try {
    result = await call;
  } catch (error) {
    // openapi-fetch rejects only when the request itself failed (no HTTP answer).
    throw new TinyBaseError(0, "network_error", String(error));
  }
  if (!result.response.ok) throw errorFromResponse(result.response, result.error);
  return result.data as [D] extends [never] ? undefined : D;
}
