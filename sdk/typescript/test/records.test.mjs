import assert from "node:assert/strict";
import { test } from "node:test";

import { TinyBaseError } from "../dist/index.js";
import { newClient, signedInClient } from "./helpers.mjs";

test("create, getOne, update and delete a record", async () => {
  const client = await signedInClient();
  const posts = client.collection("posts");
  const created = await posts.create({ title: "Hello", tags: ["a", "b"], rating: 4 });
  assert.equal(created.collection, "posts");
  assert.equal(created.owner_id, client.auth.user.id);
  assert.deepEqual(created.data.tags, ["a", "b"]);
  assert.equal(created.data.published, false, "the schema default applies");

  assert.deepEqual(await posts.getOne(created.id), created);
  const updated = await posts.update(created.id, { rating: 5 });
  assert.equal(updated.data.rating, 5);
  assert.equal(updated.data.title, "Hello");

  await posts.delete(created.id);
  const error = await posts.getOne(created.id).catch((e) => e);
  assert.ok(error instanceof TinyBaseError);
  assert.equal(error.status, 404);
  assert.equal(error.code, "not_found");
});

test("list filters, sorts and pages; all() walks every page", async () => {
  const client = await signedInClient();
  const posts = client.collection("posts");
  for (let i = 1; i <= 7; i += 1) await posts.create({ title: `post ${i}`, rating: i % 6 });
  const mine = `owner_id = '${client.auth.user.id}'`;

  const page = await posts.list({ filter: `${mine} && rating >= 3`, sort: "-rating", perPage: 2, page: 1 });
  assert.equal(page.total_items, 3); // ratings 3, 4, 5
  assert.equal(page.total_pages, 2);
  assert.equal(page.per_page, 2);
  assert.deepEqual(page.items.map((r) => r.data.rating), [5, 4]);
  const second = await posts.list({ filter: `${mine} && rating >= 3`, sort: "-rating", perPage: 2, page: 2 });
  assert.deepEqual(second.items.map((r) => r.data.rating), [3]);

  const titles = [];
  for await (const record of posts.all({ filter: mine, sort: "title", perPage: 3 })) titles.push(record.data.title);
  assert.deepEqual(titles, ["post 1", "post 2", "post 3", "post 4", "post 5", "post 6", "post 7"]);

  const none = [];
  for await (const record of posts.all({ filter: `${mine} && rating > 100` })) none.push(record);
  assert.deepEqual(none, []);
});

test("search finds records by their words; after and all() follow the cursor", async () => {
  const client = await signedInClient();
  const posts = client.collection("posts");
  const word = `zebra${Date.now()}`;
  for (let i = 1; i <= 5; i += 1) await posts.create({ title: `${word} number ${i}`, body: "plain words" });
  await posts.create({ title: "unrelated", body: `not the ${word.slice(0, 4)} you want` });
  const titles = (page) => page.items.map((r) => r.data.title);
  const numbered = (...ns) => ns.map((n) => `${word} number ${n}`);

  const found = await posts.list({ search: word, sort: "@rank" });
  assert.equal(found.total_items, 5);
  assert.deepEqual(titles(found).sort(), numbered(1, 2, 3, 4, 5));
  assert.equal(found.next_cursor, null, "lists sorted by rank have no cursor");

  const first = await posts.list({ search: word, sort: "title", perPage: 2 });
  assert.deepEqual(titles(first), numbered(1, 2));
  assert.equal(typeof first.next_cursor, "string");
  const second = await posts.list({ search: word, sort: "title", perPage: 2, after: first.next_cursor });
  assert.deepEqual(titles(second), numbered(3, 4));

  // A record that sorts first, created mid-walk, would shift numbered pages by one (and
  // repeat a record); the cursor walk goes on from where it was.
  const walked = [];
  for await (const record of posts.all({ search: word, sort: "title", perPage: 2 })) {
    walked.push(record.data.title);
    if (walked.length === 1) await posts.create({ title: `${word} number 0` });
  }
  assert.deepEqual(walked, numbered(1, 2, 3, 4, 5));

  const ranked = [];
  for await (const record of posts.all({ search: word, sort: "@rank", perPage: 4 })) ranked.push(record.data.title);
  assert.deepEqual(ranked.sort(), numbered(0, 1, 2, 3, 4, 5));
});

test("bad input comes back as typed errors: 422 with fields, 400 for a bad filter", async () => {
  const client = await signedInClient();
  const posts = client.collection("posts");
  const invalid = await posts.create({ title: "", rating: 9, nope: 1 }).catch((e) => e);
  assert.ok(invalid instanceof TinyBaseError);
  assert.equal(invalid.status, 422);
  assert.equal(invalid.code, "validation_failed");
  // Every bad field at once.
  assert.deepEqual(Object.keys(invalid.fields).sort(), ["nope", "rating", "title"]);

  const badFilter = await posts.list({ filter: "rating >>> 3" }).catch((e) => e);
  assert.equal(badFilter.status, 400);

  const missing = await client.collection("no_such_collection").list().catch((e) => e);
  assert.equal(missing.status, 404);
});

test("access rules apply to the caller: anonymous users cannot create, others cannot update", async () => {
  const owner = await signedInClient();
  const post = await owner.collection("posts").create({ title: "mine" });
  const anonymous = await newClient().collection("posts").create({ title: "x" }).catch((e) => e);
  assert.equal(anonymous.status, 401);
  const stranger = await signedInClient();
  const refused = await stranger.collection("posts").update(post.id, { title: "theirs" }).catch((e) => e);
  assert.ok([403, 404].includes(refused.status), `status ${refused.status}`);
  assert.equal((await owner.collection("posts").getOne(post.id)).data.title, "mine");
});

test("expand puts related records under expand, and fields trims the answer", async () => {
  const client = await signedInClient();
  const post = await client.collection("posts").create({ title: `expand-${Date.now()}` });
  const comments = client.collection("comments");
  const comment = await comments.create({ post: post.id, body: "first!" });

  const page = await comments.list({ filter: `post = '${post.id}'`, expand: "post" });
  assert.equal(page.items.length, 1);
  assert.equal(page.items[0].expand.post.id, post.id);
  assert.equal(page.items[0].expand.post.data.title, post.data.title);

  const withBack = await client.collection("posts").getOne(post.id, { expand: ["comments_via_post"] });
  assert.deepEqual(
    withBack.expand.comments_via_post.map((c) => c.id),
    [comment.id],
  );

  const trimmed = await comments.getOne(comment.id, { fields: ["id", "data.body"] });
  assert.deepEqual(trimmed, { id: comment.id, data: { body: "first!" } });

  const bad = await comments.list({ expand: "no_such_relation" }).catch((e) => e);
  assert.ok(bad instanceof TinyBaseError);
  assert.equal(bad.status, 400);
});
