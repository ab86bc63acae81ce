import assert from "node:assert/strict";
import { before, test } from "node:test";

import { TinyBaseError } from "../dist/index.js";
import { adminToken, baseUrl, signedInClient } from "./helpers.mjs";

// A real 1×1 PNG: the server judges files by their content.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==",
  "base64",
);

before(async () => {
  const response = await fetch(`${baseUrl}/api/collections`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({
      name: "attachments",
      schema: {
        fields: [
          { name: "title", type: "string" },
          { name: "doc", type: "file", max_size: 1000 },
          { name: "pics", type: "list[file]", mime_types: ["image/png"], max_length: 5 },
        ],
      },
      options: { list_rule: "auth", view_rule: "auth", create_rule: "auth", update_rule: "owner", delete_rule: "owner" },
    }),
  });
  assert.equal(response.status, 201, await response.text());
});

test("create with files, read them through file URLs and tokens, add and remove files", async () => {
  const client = await signedInClient();
  const attachments = client.collection("attachments");
  const record = await attachments.create(
    { title: "report" },
    { doc: { blob: new Blob(["hello, file"]), name: "notes.txt" }, pics: [{ blob: new Blob([PNG]), name: "a.png" }] },
  );
  assert.equal(record.data.title, "report");
  assert.match(record.data.doc, /^notes_\w+\.txt$/, "a stored name keeps the original's stem and extension");
  assert.equal(record.data.pics.length, 1);

  // With the session: the URL needs the Authorization header, which a file token replaces.
  const url = attachments.fileUrl(record.id, record.data.doc);
  assert.equal((await fetch(url)).status, 401, "files follow the view rule");
  const { token, expires_at } = await client.files.token();
  assert.ok(Date.parse(expires_at) > Date.now());
  const withToken = await fetch(attachments.fileUrl(record.id, record.data.doc, { token }));
  assert.equal(withToken.status, 200);
  assert.equal(await withToken.text(), "hello, file");
  const download = await fetch(attachments.fileUrl(record.id, record.data.doc, { token, download: true }));
  assert.match(download.headers.get("content-disposition"), /^attachment/);
  const thumb = await fetch(attachments.fileUrl(record.id, record.data.pics[0], { token, thumb: "10x10" }));
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get("content-type"), "image/png");

  // An update adds to a list[file] field; naming the files to keep removes the others.
  const added = await attachments.update(record.id, {}, { pics: [{ blob: new Blob([PNG]), name: "b.png" }] });
  assert.equal(added.data.pics.length, 2);
  assert.equal(added.data.pics[0], record.data.pics[0]);
  const kept = await attachments.update(record.id, { pics: [added.data.pics[1]], doc: null });
  assert.deepEqual(kept.data.pics, [added.data.pics[1]]);
  assert.equal(kept.data.doc, undefined);
  const gone = await fetch(attachments.fileUrl(record.id, record.data.doc, { token }));
  assert.equal(gone.status, 404, "a removed file is deleted");
});

test("uploads the server refuses throw a TinyBaseError and store nothing", async () => {
  const client = await signedInClient();
  const attachments = client.collection("attachments");
  const before = (await attachments.list({ filter: "title = 'refused'" })).total_items;

  const tooLarge = await attachments
    .create({ title: "refused" }, { doc: { blob: new Blob(["x".repeat(5000)]), name: "big.txt" } })
    .catch((e) => e);
  assert.ok(tooLarge instanceof TinyBaseError);
  assert.equal(tooLarge.status, 413);

  // Judged by content: text named .png is not an image.
  const fake = await attachments
    .create({ title: "refused" }, { pics: [{ blob: new Blob(["not an image"]), name: "fake.png" }] })
    .catch((e) => e);
  assert.ok(fake instanceof TinyBaseError);
  assert.equal(fake.status, 422);
  assert.ok(fake.fields.pics, JSON.stringify(fake.details));

  assert.equal((await attachments.list({ filter: "title = 'refused'" })).total_items, before);
});

test("skipTotal lists without counting, and all() still walks every page", async () => {
  const client = await signedInClient();
  const posts = client.collection("posts");
  const marker = `skip-${Date.now()}`;
  for (let i = 0; i < 3; i += 1) await posts.create({ title: `${marker} ${i}` });
  const page = await posts.list({ filter: `title ~ '${marker}'`, skipTotal: true, perPage: 2 });
  assert.equal(page.total_items, null);
  assert.equal(page.total_pages, null);
  assert.equal(page.items.length, 2);
  const titles = [];
  for await (const post of posts.all({ filter: `title ~ '${marker}'`, skipTotal: true, perPage: 2, sort: "title" })) {
    titles.push(post.data.title);
  }
  assert.deepEqual(titles, [0, 1, 2].map((i) => `${marker} ${i}`));
});
