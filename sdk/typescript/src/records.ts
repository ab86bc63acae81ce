/** Records of one collection: list, get, create, update, delete, and every page in turn. */
import type { Http } from "./http.js";
import type { Page } from "./types.js";

/** How to page, sort and filter a record list. */
export interface ListOptions {
  /** A filter expression: `rating >= 3 && (title ~ 'rust' || published = true)`. */
  filter?: string;
  /**
   * Words to look for in the collection's `searchable` fields: only records holding every
   * word (`word*` for words starting with it). Sort by `@rank` for the best matches first.
   */
  search?: string;
  /** Comma-separated sort keys, `-` for descending: `-created_at,title`, or `@rank` with `search`. */
  sort?: string;
  /**
   * The `next_cursor` of the previous page: the records right after it in the same sort,
   * whatever was written meanwhile (not with `page` or `@rank`).
   */
  after?: string;
  /** Page number from 1 (default 1). */
  page?: number;
  /** Items per page (server default 20, at most 500). */
  perPage?: number;
  /** Skip counting: `total_items` and `total_pages` come back null (faster on big lists). */
  skipTotal?: boolean;
  /** Related records to put under each record's `expand`: `author`, `comments_via_post`, `author.team`. */
  expand?: string | string[];
  /** Trim each record to these paths: `id,data.title,expand.author`. */
  fields?: string | string[];
}

/** What to add to, or trim from, a single record. */
export interface GetOptions {
  /** Related records to put under the record's `expand` (see {@link ListOptions.expand}). */
  expand?: string | string[];
  /** Trim the record to these paths (see {@link ListOptions.fields}). */
  fields?: string | string[];
}

/** A list option that may be given as an array, as the comma-separated text the server reads. */
function commaList(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Files to upload with a create or update, by field name: one `Blob`/`File` for a `file`
 * field, several for a `list[file]` field (appended to the files it holds). In Node, a
 * `Blob` has no name: pass `{ blob, name }` to give one.
 */
export type FileUploads = Record<string, FileInput | FileInput[]>;

/** One file to upload: a `File` (which has a name), or a `Blob` with a name. */
export type FileInput = Blob | { blob: Blob; name: string };

/** How a file URL should serve the file. */
export interface FileUrlOptions {
  /** A thumbnail instead of the image, `WxH` such as `100x100` (`0x300` keeps the ratio). */
  thumb?: string;
  /** A file token from `files.token()`, for `<img src>` and links that cannot send headers. */
  token?: string;
  /** Serve as an attachment (the browser downloads it). */
  download?: boolean;
}

/**
 * One collection's records, typed by the server's generated types: `R` the record,
 * `C` the create body, `U` the update body.
 */
export class Collection<R, C, U> {
  constructor(
    private readonly http: Http<{}>,
    /** The collection's name. */
    readonly name: string,
  ) {}

  private get base(): string {
    return `/api/collections/${encodeURIComponent(this.name)}/records`;
  }

  /** One page of records. */
  list(options: ListOptions = {}): Promise<Page<R>> {
    return this.http.call<Page<R>>("GET", this.base, {
      query: {
        filter: options.filter,
        search: options.search,
        sort: options.sort,
        after: options.after,
        page: options.page,
        per_page: options.perPage,
        skip_total: options.skipTotal ? true : undefined,
        expand: commaList(options.expand),
        fields: commaList(options.fields),
      },
    });
  }

  /**
   * Every record matching `options`, page after page, fetched as the loop goes. Pages
   * follow each other by cursor (`next_cursor`), so records written meanwhile neither
   * repeat nor go missing; lists sorted by `@rank` have no cursor and follow page numbers
   * (`page` is where they start).
   */
  async *all(options: ListOptions = {}): AsyncGenerator<R, void, undefined> {
    let result = await this.list(options);
    let page = options.page ?? 1;
    for (;;) {
      yield* result.items;
      if (result.next_cursor !== null) {
        result = await this.list({ ...options, page: undefined, after: result.next_cursor });
        continue;
      }
      const byRank = (options.sort ?? "").includes("@rank");
      const perPage = options.perPage ?? 20;
      const last = result.total_pages === null ? result.items.length < perPage : page >= result.total_pages;
      if (!byRank || last || result.items.length === 0) return;
      page += 1;
      result = await this.list({ ...options, page });
    }
  }

  /** The record `id` (404 `not_found` when missing or not visible to the caller). */
  getOne(id: string, options: GetOptions = {}): Promise<R> {
    return this.http.call<R>("GET", `${this.base}/${encodeURIComponent(id)}`, {
      query: { expand: commaList(options.expand), fields: commaList(options.fields) },
    });
  }

  /**
   * Creates a record from its data, with `files` uploaded in the same request
   * (`multipart/form-data`); resolves to the stored record.
   */
  create(data: C, files?: FileUploads): Promise<R> {
    if (files && Object.keys(files).length > 0) {
      return this.http.sendForm<R>("POST", this.base, recordForm(data, files));
    }
    return this.http.call<R>("POST", this.base, { body: data });
  }

  /**
   * Changes the given fields of record `id`, with `files` uploaded in the same request (a
   * new file replaces a `file` field's, new files are added to a `list[file]` field's;
   * set a field to null, or a list to the names to keep, to remove files).
   */
  update(id: string, data: U, files?: FileUploads): Promise<R> {
    const path = `${this.base}/${encodeURIComponent(id)}`;
    if (files && Object.keys(files).length > 0) {
      return this.http.sendForm<R>("PATCH", path, recordForm(data, files));
    }
    return this.http.call<R>("PATCH", path, { body: data });
  }

  /**
   * The URL of the file `filename` of record `recordId`, for links and `<img src>`. Files
   * follow the record's `view_rule`: where the request cannot carry the session's token,
   * pass a file token (`await client.files.token()`).
   */
  fileUrl(recordId: string, filename: string, options: FileUrlOptions = {}): string {
    const query = new URLSearchParams();
    if (options.thumb) query.set("thumb", options.thumb);
    if (options.token) query.set("token", options.token);
    if (options.download) query.set("download", "1");
    const search = query.toString();
    return (
      `${this.http.baseUrl}/api/files/${encodeURIComponent(this.name)}/${encodeURIComponent(recordId)}/` +
      `${encodeURIComponent(filename)}${search ? `?${search}` : ""}`
    );
  }

  /** Deletes record `id`. */
  async delete(id: string): Promise<void> {
    await this.http.call<void>("DELETE", `${this.base}/${encodeURIComponent(id)}`);
  }
}

/** The multipart body of a create or update: the JSON `data` part, then each file part. */
function recordForm(data: unknown, files: FileUploads): FormData {
  const form = new FormData();
  form.append("data", new Blob([JSON.stringify(data ?? {})], { type: "application/json" }));
  for (const [field, value] of Object.entries(files)) {
    for (const file of Array.isArray(value) ? value : [value]) {
      if (file instanceof Blob) {
        const name = typeof File !== "undefined" && file instanceof File ? file.name : field;
        form.append(field, file, name);
      } else {
        form.append(field, file.blob, file.name);
      }
    }
  }
  return form;
}
