// Mistakes the generated types must catch: every line marked "// error:" must fail to
// type-check, and nothing else (tsconfig.bad.json; checked by typegen.test.mjs).
import { createClient } from "../../dist/index.js";
import type { paths } from "../.generated/tinybase.js";

const tb = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

export async function wrong(): Promise<void> {
  tb.collection("postz"); // error: no such collection
  await tb.collection("posts").create({ titel: "typo" }); // error: no such field
  await tb.collection("posts").create({ body: "no title" }); // error: title is required
  await tb.collection("posts").update("id", { rating: "five" }); // error: rating is a number
  const post = await tb.collection("posts").getOne("id");
  const n: number = post.data.title; // error: title is a string
  await tb.functions.call("publish_posts", { post_id: "x" }); // error: no such function
  await tb.functions.call("publish_post", { id: "x" }); // error: wrong input field
  await tb.functions.call("publish_post"); // error: input is required
  const stats = await tb.functions.call("blog_stats");
  const s: string = stats.drafts; // error: drafts is a number
  await tb.subscribe("postz", {}, () => {}); // error: no such collection
  void [n, s];
}
