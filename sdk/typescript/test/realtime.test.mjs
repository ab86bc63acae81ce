import assert from "node:assert/strict";
import { test } from "node:test";

import { TinyBaseError } from "../dist/index.js";
import { newClient, signedInClient, until } from "./helpers.mjs";

/**
 * A fetch that can cut the realtime stream (as a dropped network would), hold the
 * reconnect until the test lets it go, and rewrite the reconnect's client id. Every
 * request still goes to the real server.
 */
function unreliableFetch() {
  const cuts = [];
  const streams = [];
  let gate = null;
  let rewriteClientId = null;
  const fetchThrough = async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== "/api/realtime") return fetch(request);
    if (gate) await gate.promise;
    if (rewriteClientId && url.searchParams.has("client_id")) {
      url.searchParams.set("client_id", rewriteClientId);
      rewriteClientId = null;
    }
    streams.push({ clientId: url.searchParams.get("client_id"), lastEventId: request.headers.get("last-event-id") });
    const cut = new AbortController();
    cuts.push(cut);
    return fetch(new Request(url, { headers: request.headers, signal: AbortSignal.any([request.signal, cut.signal]) }));
  };
  return {
    fetch: fetchThrough,
    streams,
    /** Cuts the open stream and holds the reconnect until `release()`. */
    drop() {
      let release;
      gate = { promise: new Promise((resolve) => (release = resolve)) };
      gate.release = release;
      cuts.at(-1).abort();
    },
    release() {
      const open = gate;
      gate = null;
      open.release();
    },
    forgetClientOnReconnect() {
      rewriteClientId = "0".repeat(32);
    },
  };
}

test("subscribe delivers matching record events: create, update, delete", async () => {
  const writer = await signedInClient();
  const reader = newClient();
  const events = [];
  const mine = `owner_id = '${writer.auth.user.id}'`;
  const subscription = await reader.subscribe("posts", { filter: `${mine} && rating >= 3` }, (e) => events.push(e));
  try {
    const posts = writer.collection("posts");
    await posts.create({ title: "low", rating: 1 });
    const high = await posts.create({ title: "high", rating: 4 });
    await posts.update(high.id, { title: "higher" });
    await posts.delete(high.id);
    await until(() => events.length >= 3);
    assert.deepEqual(
      events.map((e) => [e.action, e.collection, e.record.id, e.record.data.title]),
      [
        ["create", "posts", high.id, "high"],
        ["update", "posts", high.id, "higher"],
        ["delete", "posts", high.id, "higher"],
      ],
    );
    assert.ok(subscription.clientId);
    assert.ok(subscription.lastEventId);
  } finally {
    subscription.unsubscribe();
  }
});

test("a dropped stream reconnects with Last-Event-ID and gets what it missed", async () => {
  const writer = await signedInClient();
  const net = unreliableFetch();
  const reader = newClient({ fetch: net.fetch });
  const events = [];
  const connects = [];
  let disconnects = 0;
  const subscription = await reader.subscribe(
    "posts",
    {
      filter: `owner_id = '${writer.auth.user.id}'`,
      onConnect: (id) => connects.push(id),
      onDisconnect: () => disconnects++,
    },
    (e) => events.push(e),
  );
  try {
    const first = await writer.collection("posts").create({ title: "before the drop" });
    await until(() => events.length === 1);
    const seen = subscription.lastEventId;
    assert.equal(disconnects, 0);

    net.drop();
    await until(() => disconnects === 1);
    const missed = await writer.collection("posts").create({ title: "while away" });
    net.release();
    await until(() => events.length === 2);
    assert.equal(disconnects, 1, "one drop is reported once");

    assert.deepEqual(events.map((e) => e.record.id), [first.id, missed.id]);
    assert.equal(net.streams.length, 2);
    assert.deepEqual(net.streams[1], { clientId: connects[0], lastEventId: seen });
    assert.deepEqual(connects, [connects[0], connects[0]], "the client id is kept");

    const after = await writer.collection("posts").create({ title: "after" });
    await until(() => events.length === 3);
    assert.equal(events[2].record.id, after.id);
  } finally {
    subscription.unsubscribe();
  }
});

test("a server that forgot the client: reset is reported once and the client subscribes again", async () => {
  const writer = await signedInClient();
  const net = unreliableFetch();
  const reader = newClient({ fetch: net.fetch });
  const events = [];
  let resets = 0;
  const subscription = await reader.subscribe(
    "posts",
    { filter: `owner_id = '${writer.auth.user.id}'`, onReset: () => (resets += 1) },
    (e) => events.push(e),
  );
  try {
    await writer.collection("posts").create({ title: "one" });
    await until(() => events.length === 1);
    const oldClientId = subscription.clientId;

    net.forgetClientOnReconnect();
    net.drop();
    net.release();
    await until(() => resets === 1);
    assert.notEqual(subscription.clientId, oldClientId);

    const next = await writer.collection("posts").create({ title: "two" });
    await until(() => events.length === 2);
    assert.equal(events[1].record.id, next.id);
    assert.equal(resets, 1);
  } finally {
    subscription.unsubscribe();
  }
});

test("unsubscribe stops delivery", async () => {
  const writer = await signedInClient();
  const filter = `owner_id = '${writer.auth.user.id}'`;
  const stopped = [];
  const still = [];
  const first = await newClient().subscribe("posts", { filter }, (e) => stopped.push(e));
  const second = await newClient().subscribe("posts", { filter }, (e) => still.push(e));
  try {
    first.unsubscribe();
    assert.equal(first.isClosed, true);
    await writer.collection("posts").create({ title: "after unsubscribe" });
    await until(() => still.length === 1);
    assert.deepEqual(stopped, []);
  } finally {
    second.unsubscribe();
  }
});

test("a bad filter or an unknown collection is refused when subscribing", async () => {
  const anonymous = newClient();
  const refused = async (collection, options) => {
    const result = await anonymous.subscribe(collection, options, () => {}).catch((e) => e);
    // Never leave a stream open, even when the assertion below is about to fail.
    if (!(result instanceof Error)) result.unsubscribe();
    return result;
  };
  const badFilter = await refused("posts", { filter: "rating >>> 1" });
  assert.ok(badFilter instanceof TinyBaseError, String(badFilter));
  assert.equal(badFilter.status, 400);

  const unknown = await refused("no_such_collection", {});
  assert.ok(unknown instanceof TinyBaseError, String(unknown));
  assert.equal(unknown.status, 404);
});

test("subscribeChannel delivers what a function publishes on its channel, and nothing else", async () => {
  const writer = await signedInClient();
  const reader = newClient();
  const announced = [];
  const other = [];
  const subscription = await reader.subscribeChannel("announcements", (data) => announced.push(data));
  const elsewhere = await reader.subscribeChannel("not-announcements", (data) => other.push(data));
  try {
    const post = await writer.collection("posts").create({ title: `announce-${Date.now()}` });
    await writer.functions.call("publish_post", { post_id: post.id });
    await until(() => announced.some((a) => a.post_id === post.id));
    assert.deepEqual(
      announced.find((a) => a.post_id === post.id),
      { post_id: post.id, title: post.data.title },
    );
    // A record event for the same write is not a channel message.
    assert.ok(announced.every((a) => !("action" in a)));
    assert.deepEqual(other, []);

    const bad = await reader.subscribeChannel("", () => {}).catch((e) => e);
    assert.ok(bad instanceof TinyBaseError);
    assert.equal(bad.status, 422);
  } finally {
    subscription.unsubscribe();
    elsewhere.unsubscribe();
  }
});
