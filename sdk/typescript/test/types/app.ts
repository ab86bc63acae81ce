// An app typed by `typegen`: everything here must type-check (tsconfig.json).
import { TinyBaseError, createClient } from "../../dist/index.js";
import type { paths } from "../.generated/tinybase.js";

const tb = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

export async function app(): Promise<void> {
  const posts = tb.collection("posts");
  const post = await posts.create({ title: "Hello", tags: ["a"], rating: 3 });
  const title: string | null | undefined = post.data.title;
  const tags: string[] | null | undefined = post.data.tags;
  const id: string = post.id;
  await posts.update(id, { published: true });
  const page = await posts.list({ filter: "rating >= 3", sort: "-created_at", perPage: 10 });
  const total: number | null = page.total_items;
  for await (const each of posts.all()) {
    const eachTitle: string | null | undefined = each.data.title;
    void eachTitle;
  }
  const comment = await tb.collection("comments").create({ post: id, body: "Nice" });
  const body: string | null | undefined = comment.data.body;

  const stats = await tb.functions.call("blog_stats");
  const published: number = stats.published_posts;
  const publishedPost = await tb.functions.call("publish_post", { post_id: id });
  const publishedId: string = publishedPost.id;

  const subscription = await tb.subscribe("posts", { filter: "rating > 3" }, (event) => {
    const action: "create" | "update" | "delete" = event.action;
    const changedTitle: string | null | undefined = event.record.data.title;
    void [action, changedTitle];
  });
  subscription.unsubscribe();

  const health = await tb.api.GET("/api/health");
  const status: string | undefined = health.data?.status;
  const users = await tb.api.GET("/api/admin/users", { params: { query: { page: 1 } } });
  const firstEmail: string | undefined = users.data?.items[0]?.email;
  // A change set sends only what changes: fields with a default are not required.
  await tb.api.PATCH("/api/admin/schedules/{id}", {
    params: { path: { id: "schedule-id" } },
    body: { is_active: false },
  });

  try {
    await tb.auth.login({ email: "a@example.com", password: "secret" });
  } catch (error) {
    if (error instanceof TinyBaseError) {
      const fields: Record<string, string> = error.fields;
      void [error.status, error.code, fields];
    }
  }
  void [title, tags, total, body, published, publishedId, status, firstEmail];
}
