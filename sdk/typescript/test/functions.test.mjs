import assert from "node:assert/strict";
import { test } from "node:test";

import { TinyBaseError } from "../dist/index.js";
import { newClient, signedInClient } from "./helpers.mjs";

test("a function without input, called by anyone", async () => {
  const stats = await newClient().functions.call("blog_stats");
  assert.equal(typeof stats.published_posts, "number");
  assert.equal(typeof stats.drafts, "number");
  assert.equal(typeof stats.comments, "number");
});

test("a function with input acts as its caller and reports errors in the envelope", async () => {
  const client = await signedInClient();
  const post = await client.collection("posts").create({ title: "to publish" });
  const before = await client.functions.call("blog_stats");

  const published = await client.functions.call("publish_post", { post_id: post.id });
  assert.equal(published.id, post.id);
  assert.equal(published.data.published, true);
  assert.ok(published.data.published_at);
  const after = await client.functions.call("blog_stats");
  assert.equal(after.published_posts, before.published_posts + 1);

  const again = await client.functions.call("publish_post", { post_id: post.id }).catch((e) => e);
  assert.ok(again instanceof TinyBaseError);
  assert.equal(again.status, 409);
  assert.equal(again.code, "conflict");

  const badInput = await client.functions.call("publish_post", { postid: post.id }).catch((e) => e);
  assert.equal(badInput.status, 422);
});

test("functions refuse callers their auth level excludes", async () => {
  const anonymous = await newClient().functions.call("publish_post", { post_id: "x" }).catch((e) => e);
  assert.equal(anonymous.status, 401);
  const user = await signedInClient();
  const notAdmin = await user.functions.call("install_blog").catch((e) => e);
  assert.equal(notAdmin.status, 403);
  const unknown = await user.functions.call("no_such_function").catch((e) => e);
  assert.equal(unknown.status, 404);
});
