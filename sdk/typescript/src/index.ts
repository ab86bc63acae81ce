/**
 * `@tinybase/client`: a typed client for TinyBase servers.
 *
 * ```ts
 * import { createClient } from "@tinybase/client";
 * import type { paths } from "./tinybase.js"; // npx @tinybase/client typegen …
 * const tb = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });
 * ```
 */
export { Auth, type Credentials, type OAuth2Provider, type TotpSetup } from "./auth.js";
export { TinyBase, createClient, type ClientOptions } from "./client.js";
export { TinyBaseError } from "./errors.js";
export { type FileToken, Files } from "./files.js";
export { Functions } from "./functions.js";
export type { FetchLike } from "./http.js";
export { type ChannelOptions, type RecordEvent, type SubscribeOptions, Subscription, type Topic } from "./realtime.js";
export {
  Collection,
  type FileInput,
  type FileUploads,
  type FileUrlOptions,
  type GetOptions,
  type ListOptions,
} from "./records.js";
export {
  LocalStorageTokenStore,
  MemoryTokenStore,
  type Session,
  type SessionChangeReason,
  type SessionListener,
  type StorageLike,
  type TokenStore,
  type User,
} from "./session.js";
export type * from "./types.js";
export { type ApiResult, unwrap } from "./unwrap.js";
