/**
 * Types derived from the `paths` interface that `typegen` (openapi-typescript) writes for
 * a server: collection names and their record, create and update types, and function
 * names with their input and output. Without generated types (`paths` = {}) everything
 * falls back to loose JSON types, so the client works untyped too.
 */

/** JSON body of an operation's success (200/201) response. */
type Ok<Op> = Op extends { responses: infer R }
  ? R extends { 200: { content: { "application/json": infer B } } }
    ? B
    : R extends { 201: { content: { "application/json": infer B } } }
      ? B
      : unknown
  : unknown;

/** JSON request body of an operation (never when it takes none). */
type Body<Op> = Op extends { requestBody?: infer RB }
  ? [NonNullable<RB>] extends [never]
    ? never
    : NonNullable<RB> extends { content: { "application/json": infer B } }
      ? B
      : never
  : never;

type Get<T, K extends PropertyKey> = T extends Record<K, infer V> ? V : never;

/** Names of the collections a server's document has record paths for. */
export type TypedCollectionName<P> = {
  [K in keyof P]: K extends `/api/collections/${infer N}/records`
    ? N extends `{${string}}`
      ? never
      : N
    : never;
}[keyof P];

/** Collection names: the typed ones, or any string when the client has no types. */
export type CollectionName<P> = [TypedCollectionName<P>] extends [never] ? string : TypedCollectionName<P>;

/** A record whose data is unknown JSON (`{id, collection, owner_id, created_at, updated_at, data}`). */
export interface AnyRecord {
  id: string;
  collection: string;
  owner_id?: string | null;
  created_at: string;
  updated_at: string;
  data: Record<string, unknown>;
}

/** One page of a record list. */
export interface Page<R> {
  items: R[];
  page: number;
  per_page: number;
  /** Null when the list was asked with `skipTotal`. */
  total_items: number | null;
  /** Null when the list was asked with `skipTotal`. */
  total_pages: number | null;
  /** Pass as `after` for the records after this page; null on the last page and in lists sorted by `@rank`. */
  next_cursor: string | null;
  /** `true` when the page stopped early at the server's byte budget for a page (16 MiB): the rest follows `next_cursor`. */
  truncated?: boolean;
}

type ListPath<N extends string> = `/api/collections/${N}/records`;
type ItemPath<N extends string> = `/api/collections/${N}/records/{id}`;

/** The record type of collection `N`. */
export type RecordOf<P, N extends string> = [TypedCollectionName<P>] extends [never]
  ? AnyRecord
  : Ok<Get<Get<P, ListPath<N>>, "get">> extends { items: (infer R)[] }
    ? R
    : AnyRecord;

/** The body that creates a record in collection `N`. */
export type CreateOf<P, N extends string> = [TypedCollectionName<P>] extends [never]
  ? Record<string, unknown>
  : Body<Get<Get<P, ListPath<N>>, "post">>;

/** The body that updates a record in collection `N` (every field optional). */
export type UpdateOf<P, N extends string> = [TypedCollectionName<P>] extends [never]
  ? Record<string, unknown>
  : Body<Get<Get<P, ItemPath<N>>, "patch">>;

/** Names of the functions a server's document has a call path for. */
export type TypedFunctionName<P> = {
  [K in keyof P]: K extends `/api/functions/${infer N}`
    ? N extends `${string}/${string}` | `{${string}}`
      ? never
      : Get<P[K], "post"> extends never
        ? never
        : N
    : never;
}[keyof P];

/** Function names: the typed ones, or any string when the client has no types. */
export type FunctionName<P> = [TypedFunctionName<P>] extends [never] ? string : TypedFunctionName<P>;

/** What function `N` takes (never when it takes no input). */
export type FunctionInput<P, N extends string> = [TypedFunctionName<P>] extends [never]
  ? unknown
  : Body<Get<Get<P, `/api/functions/${N}`>, "post">>;

/** What function `N` returns. */
export type FunctionOutput<P, N extends string> = [TypedFunctionName<P>] extends [never]
  ? unknown
  : Ok<Get<Get<P, `/api/functions/${N}`>, "post">>;

/** The arguments of `functions.call(name, …)`: none when the function takes no input. */
export type FunctionArgs<P, N extends string> = [FunctionInput<P, N>] extends [never]
  ? []
  : [input: FunctionInput<P, N>];
