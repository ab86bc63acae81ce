/** File tokens: short-lived query-string credentials for file URLs. */
import type { Http } from "./http.js";

/** A file token and when it stops working (5 minutes after issue). */
export interface FileToken {
  token: string;
  expires_at: string;
}

/**
 * Files of records are uploaded with `collection(…).create(data, files)` and reached with
 * `collection(…).fileUrl(…)`; this part of the client issues the tokens such URLs carry
 * when they cannot send the session's `Authorization` header (`<img src>`, plain links).
 */
export class Files {
  constructor(private readonly http: Http<{}>) {}

  /** A file token for the signed-in user (401 when signed out). */
  token(): Promise<FileToken> {
    return this.http.call<FileToken>("POST", "/api/files/token");
  }
}
