/** Calling the server's functions (`POST /api/functions/{name}`). */
import type { Http } from "./http.js";
import type { FunctionArgs, FunctionName, FunctionOutput } from "./types.js";

/** The server's functions, typed by name from the generated types. */
export class Functions<P extends {}> {
  constructor(private readonly http: Http<{}>) {}

  /**
   * Calls function `name` with its input (none for a function that takes none) and
   * resolves to its output; a failure throws a `TinyBaseError`.
   */
  call<N extends FunctionName<P>>(name: N, ...args: FunctionArgs<P, N>): Promise<FunctionOutput<P, N>> {
    const body = args.length > 0 ? args[0] : undefined;
    return this.http.call<FunctionOutput<P, N>>("POST", `/api/functions/${encodeURIComponent(name)}`, { body });
  }
}
