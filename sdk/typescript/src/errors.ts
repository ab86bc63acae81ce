/**
 * The one error every TinyBase call throws for an unsuccessful answer: the status and the
 * server's error envelope `{"error": {"code", "message", "details"}}`.
 */
export class TinyBaseError extends Error {
  /** The HTTP status (0 when the server was not reached or did not answer with HTTP). */
  readonly status: number;
  /** The envelope's machine-readable code, e.g. `validation_failed`, `not_found`. */
  readonly code: string;
  /** The envelope's `details` object, when the server sent one. */
  readonly details: Record<string, unknown> | undefined;

  /** Builds an error from its parts; most code gets one from a failed call instead. */
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "TinyBaseError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Per-field messages of a 422 (`details.fields`), e.g. `{title: "is required"}`. */
  get fields(): Record<string, string> {
    const fields = this.details?.fields;
    return fields !== null && typeof fields === "object" ? (fields as Record<string, string>) : {};
  }
}

/** The error for a failed response whose body (already parsed, or undefined) is `body`. */
export function errorFromResponse(response: Response, body: unknown): TinyBaseError {
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    const details = isObject(error.details) ? error.details : undefined;
    return new TinyBaseError(response.status, error.code, error.message, details);
  }
  // Not the envelope: a proxy in between, or not a TinyBase server at all.
  return new TinyBaseError(
    response.status,
    "http_error",
    `${response.status} ${response.statusText || "error"} from ${response.url}`,
  );
}

/** Reads a failed response's body and turns it into a {@link TinyBaseError}. */
export async function readError(response: Response): Promise<TinyBaseError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  return errorFromResponse(response, body);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
