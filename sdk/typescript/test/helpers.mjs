// Shared set-up for the tests: the server test/run.mjs started, and fresh users.
import { randomUUID } from "node:crypto";

import { createClient } from "../dist/index.js";

/** The base URL of the server under test. */
export const baseUrl = process.env.TINYBASE_URL;
if (!baseUrl) throw new Error("run the tests with `npm test` (test/run.mjs starts the server)");

/** A client with no session; `options` as createClient's. */
export function newClient(options = {}) {
  return createClient({ baseUrl, ...options });
}

/** A client signed in as a freshly registered user. */
export async function signedInClient(options = {}) {
  const client = newClient(options);
  await client.auth.register({ email: `user-${randomUUID()}@example.com`, password: "a good password" });
  return client;
}

/** The admin's bearer token. */
export const adminToken = process.env.TINYBASE_ADMIN_TOKEN;

/** Resolves when `predicate()` is true, checking as events arrive (no time limit of its own). */
export async function until(predicate) {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * The mails the test SMTP server received for `to`, oldest first, as `{to, subject,
 * text, html}` (read with tests/peers/mail_dump.py).
 */
export async function mailsTo(to) {
  const { execFileSync } = await import("node:child_process");
  const { existsSync } = await import("node:fs");
  const dir = process.env.SDK_TEST_MAILBOX;
  if (!existsSync(dir)) return [];
  const out = execFileSync(process.env.SDK_TEST_MAIL_PYTHON, [process.env.SDK_TEST_MAIL_DUMP, dir], { encoding: "utf8" });
  return JSON.parse(out).filter((mail) => mail.to.includes(to));
}

/**
 * The token of the newest mail to `to` whose subject matches `subject`, once it arrived
 * (mails are sent off the request path, so the answer comes first).
 */
export async function mailedToken(to, subject) {
  for (;;) {
    const mails = (await mailsTo(to)).filter((mail) => subject.test(mail.subject));
    const last = mails.at(-1);
    const match = last?.text.match(/token=([A-Za-z0-9_-]+)/);
    if (match) return match[1];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
