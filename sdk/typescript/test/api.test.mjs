// The typed openapi-fetch layer (`client.api`) with `unwrap`: data on success, a
// TinyBaseError for an error answer or an unreachable server, the session's token on
// every call.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";

import { MemoryTokenStore, TinyBaseError, unwrap } from "../dist/index.js";
import { adminToken, newClient, signedInClient } from "./helpers.mjs";

test("unwrap resolves to the data of a success, with the session's token sent", async () => {
  const client = await signedInClient();
  const me = await unwrap(client.api.GET("/api/auth/me"));
  assert.equal(me.id, client.auth.user.id);
  assert.equal(me.email, client.auth.user.email);
});

test("unwrap resolves to undefined for an answer without a body (204), and the call took effect", async () => {
  const client = await signedInClient();
  const post = await client.collection("posts").create({ title: "to delete" });
  const gone = await unwrap(
    client.api.DELETE("/api/collections/{name}/records/{id}", { params: { path: { name: "posts", id: post.id } } }),
  );
  assert.equal(gone, undefined);
  await assert.rejects(client.collection("posts").getOne(post.id), (e) => e instanceof TinyBaseError && e.status === 404);
});

test("unwrap throws the server's error envelope as a TinyBaseError, and nothing changes", async () => {
  const client = await signedInClient();
  // Not an admin: creating a user is refused.
  const email = `refused-${Date.now()}@example.com`;
  await assert.rejects(
    unwrap(client.api.POST("/api/admin/users", { body: { email, password: "a good password" } })),
    (e) => e instanceof TinyBaseError && e.status === 403 && e.code === "forbidden" && e.message.length > 0,
  );
  const admin = newClient({ tokenStore: storeWithToken(adminToken) });
  const found = await unwrap(admin.api.GET("/api/admin/users", { params: { query: { search: email } } }));
  assert.equal(found.total_items, 0, "the refused user was not created");

  // A 422 carries the per-field messages.
  await assert.rejects(
    unwrap(admin.api.POST("/api/admin/users", { body: { email, password: "short" } })),
    (e) => e instanceof TinyBaseError && e.status === 422 && typeof e.fields.password === "string",
  );
  assert.equal((await unwrap(admin.api.GET("/api/admin/users", { params: { query: { search: email } } }))).total_items, 0);
  // The session survives refusals that are not about its token.
  assert.ok(client.auth.isSignedIn);
});

test("unwrap turns an unreachable server into a network_error with status 0", async () => {
  const port = await closedPort();
  const offline = newClient({ baseUrl: `http://127.0.0.1:${port}` });
  await assert.rejects(
    unwrap(offline.api.GET("/api/health")),
    (e) => e instanceof TinyBaseError && e.status === 0 && e.code === "network_error",
  );
});

test("a 401 to the session's token through client.api signs out", async () => {
  const client = await signedInClient();
  const token = client.auth.session.token;
  const reasons = [];
  client.auth.onChange((session, reason) => reasons.push([session, reason]));
  // Revoke the token elsewhere (another client with the same token logs out).
  const other = newClient({ tokenStore: storeWithToken(token) });
  await other.auth.logout();
  await assert.rejects(unwrap(client.api.GET("/api/auth/me")), (e) => e instanceof TinyBaseError && e.status === 401);
  assert.deepEqual(reasons, [[null, "expired"]]);
  assert.equal(client.auth.isSignedIn, false);
});

/** A token store holding a session with `token` (the user part is not checked by the client). */
function storeWithToken(token) {
  const store = new MemoryTokenStore();
  store.save({ token, expires_at: "2100-01-01T00:00:00Z", user: { id: "", email: "", is_admin: false, created_at: "", updated_at: "" } });
  return store;
}

/** A loopback port nothing listens on (bound, then closed). */
function closedPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
