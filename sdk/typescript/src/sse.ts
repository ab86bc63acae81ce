/**
 * A server-sent-events parser over a fetch response body. `EventSource` cannot send an
 * `Authorization` header, and Node has none, so the client reads the stream itself.
 */

/** One event as sent: its `id` (if any), `event` name and `data` text. */
export interface ServerSentEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Yields the events of a `text/event-stream` body as they arrive. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | undefined;
  let event = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const line = buffer.slice(0, newline);
        // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
        if (buffer[newline] === "\r" && newline + 1 === buffer.length) break;
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length > 0 || event !== "") {
            yield { id, event: event || "message", data: data.join("\n") };
          }
          id = undefined;
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "id") id = value;
        else if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  } finally {
    reader.releaseLock();
  }
}
