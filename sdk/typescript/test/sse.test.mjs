import assert from "node:assert/strict";
import { test } from "node:test";

import { readEvents } from "../dist/sse.js";

/** A byte stream that delivers `text` in the given chunk sizes. */
function streamOf(text, sizes) {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const size = sizes[i++ % sizes.length];
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function collect(stream) {
  const events = [];
  for await (const event of readEvents(stream)) events.push(event);
  return events;
}

const wire =
  'event: connected\ndata: {"client_id":"c1"}\n\n' +
  ": keep-alive\n\n" +
  'id: 7\r\nevent: record\r\ndata: {"a":\r\ndata: "é"}\r\n\r\n' +
  "event: reset\rdata: {}\r\r" +
  "data: no event name\n\n" +
  "event: partial\ndata: never finished";

test("events, ids, multi-line data, comments and every line ending, in any chunking", async () => {
  const expected = [
    { id: undefined, event: "connected", data: '{"client_id":"c1"}' },
    { id: "7", event: "record", data: '{"a":\n"é"}' },
    { id: undefined, event: "reset", data: "{}" },
    { id: undefined, event: "message", data: "no event name" },
  ];
  for (const sizes of [[1], [2, 3], [7], [1000]]) {
    assert.deepEqual(await collect(streamOf(wire, sizes)), expected, `chunk sizes ${sizes}`);
  }
});
