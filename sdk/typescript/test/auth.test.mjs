import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { LocalStorageTokenStore, MemoryTokenStore, TinyBaseError } from "../dist/index.js";
import { newClient, signedInClient } from "./helpers.mjs";

/** A Web Storage over a Map, as browsers provide `localStorage`. */
class MapStorage {
  items = new Map();
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

test("register signs in, me answers the user, logout revokes the token", async () => {
  const client = newClient();
  const changes = [];
  client.auth.onChange((session, reason) => changes.push([reason, session?.user.email ?? null]));
  const email = `reg-${randomUUID()}@example.com`;
  const session = await client.auth.register({ email, password: "a good password" });
  assert.equal(session.user.email, email);
  assert.equal(client.auth.isSignedIn, true);
  const me = await client.auth.me();
  assert.equal(me.id, session.user.id);
  assert.equal(me.is_admin, false);

  await client.auth.logout();
  assert.equal(client.auth.session, null);
  assert.deepEqual(changes.map(([reason]) => reason), ["register", "set", "logout"]);
  // The old token no longer works on the server either.
  const other = newClient({ tokenStore: storeWith(session) });
  await assert.rejects(other.auth.me(), (error) => error instanceof TinyBaseError && error.status === 401);
});

test("a wrong password is a typed 401 error and leaves the session alone", async () => {
  const client = newClient();
  const email = `login-${randomUUID()}@example.com`;
  await client.auth.register({ email, password: "a good password" });
  const before = client.auth.session;
  const error = await client.auth.login({ email, password: "not the password" }).catch((e) => e);
  assert.ok(error instanceof TinyBaseError);
  assert.equal(error.status, 401);
  assert.equal(typeof error.code, "string");
  assert.ok(error.message.length > 0);
  assert.deepEqual(client.auth.session, before);
  const again = await client.auth.login({ email, password: "a good password" });
  assert.notEqual(again.token, before.token);
});

test("registration errors carry per-field messages", async () => {
  const error = await newClient()
    .auth.register({ email: "not an email", password: "x" })
    .catch((e) => e);
  assert.ok(error instanceof TinyBaseError);
  assert.equal(error.status, 422);
  assert.equal(error.code, "validation_failed");
  assert.ok("email" in error.fields, JSON.stringify(error.details));
});

test("a 401 to the session's token signs out and tells the listeners", async () => {
  const first = await signedInClient();
  const token = first.auth.session.token;
  // A second client (another tab) with the same session signs out: the token is revoked.
  const second = newClient({ tokenStore: storeWith(first.auth.session) });
  await second.auth.logout();

  const changes = [];
  first.auth.onChange((session, reason) => changes.push([reason, session]));
  const error = await first.auth.me().catch((e) => e);
  assert.equal(error.status, 401);
  assert.equal(first.auth.session, null);
  assert.deepEqual(changes, [["expired", null]]);

  // Signing out with a token the server already refuses just forgets it.
  const stale = newClient({ tokenStore: storeWith({ token, expires_at: "", user: {} }) });
  await stale.auth.logout();
  assert.equal(stale.auth.session, null);
});

test("localStorage keeps the session across clients, and ignores junk", async () => {
  const storage = new MapStorage();
  const client = newClient({ tokenStore: new LocalStorageTokenStore("tb", storage) });
  const session = await client.auth.register({ email: `ls-${randomUUID()}@example.com`, password: "a good password" });
  assert.equal(JSON.parse(storage.getItem("tb")).token, session.token);

  // A page reload: a new client over the same storage is signed in as the same user.
  const reloaded = newClient({ tokenStore: new LocalStorageTokenStore("tb", storage) });
  assert.equal((await reloaded.auth.me()).id, session.user.id);

  await reloaded.auth.logout();
  assert.equal(storage.getItem("tb"), null);

  storage.setItem("tb", "{not json");
  assert.equal(new LocalStorageTokenStore("tb", storage).load(), null);
  storage.setItem("tb", JSON.stringify({ token: 1 }));
  assert.equal(new LocalStorageTokenStore("tb", storage).load(), null);
});

test("changing the password moves the session to the new token", async () => {
  const client = newClient();
  const email = `pw-${randomUUID()}@example.com`;
  const old = await client.auth.register({ email, password: "a good password" });
  const fresh = await client.auth.changePassword("a good password", "another good password");
  assert.notEqual(fresh.token, old.token);
  assert.equal((await client.auth.me()).email, email);
  const stale = newClient({ tokenStore: storeWith(old) });
  await assert.rejects(stale.auth.me(), (error) => error.status === 401);
});

function storeWith(session) {
  const store = new MemoryTokenStore();
  store.save(session);
  return store;
}
