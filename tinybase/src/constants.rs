//! Paths, names and limits used in more than one place.

/// Where the OpenAPI document is served.
pub(crate) const OPENAPI_PATH: &str = "/openapi.json";
/// Where the interactive API reference is served.
pub(crate) const DOCS_PATH: &str = "/docs";
/// Where the admin UI is served.
pub(crate) const ADMIN_PATH: &str = "/admin";
/// How often periodic maintenance (token pruning, planner statistics) runs, in seconds.
pub(crate) const MAINTENANCE_INTERVAL_SECS: u64 = 3600;
/// How often the write-ahead log is checkpointed and truncated, in seconds.
pub(crate) const CHECKPOINT_INTERVAL_SECS: u64 = 60;

/// How many CPUs the process may use (2 when the system cannot tell): sizes the thread
/// and connection sets that exist to keep every CPU busy and no more.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// The most bytes one page of a record list may hold: records past it are left for a
/// later request and the page says `"truncated": true`. Bounds the memory and time one
/// list request can take, whatever `per_page` and the records' sizes.
pub(crate) const LIST_RESPONSE_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The longest request URI (path and query) answered normally; longer ones get 414.
pub(crate) const MAX_URI_BYTES: usize = 16 * 1024;
/// The most header bytes (names and values) a request may carry; more gets 431.
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most headers a request may carry; more gets 431.
pub(crate) const MAX_HEADERS: usize = 100;
/// The HTTP parser's own ceilings, above the limits just above so those are normally
/// what a client meets (in the error envelope). A request over these gets the parser's
/// bare 431 and the connection closed.
pub(crate) const PARSER_MAX_HEADERS: usize = 128;
/// See [`PARSER_MAX_HEADERS`]: request line and headers together.
pub(crate) const PARSER_MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long one `before_*` hook may run (ms) before its write fails: it holds the
/// database's only writer meanwhile, so every other write waits on it.
pub(crate) const HOOK_BUDGET_MS: u64 = 2_000;
/// How long one `after_*` hook may run on one event before it counts as failed.
pub(crate) const AFTER_HOOK_TIMEOUT_SECS: u64 = 60;
/// How many changes the after-hook runner reads from the change log at a time.
pub(crate) const AFTER_HOOK_PAGE: usize = 100;
