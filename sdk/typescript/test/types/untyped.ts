// Without generated types the client still works, on loose JSON (tsconfig.json).
import { createClient } from "../../dist/index.js";

const tb = createClient({ baseUrl: "http://127.0.0.1:8000" });

export async function untyped(): Promise<void> {
  const record = await tb.collection("anything").create({ whatever: 1 });
  const data: Record<string, unknown> = record.data;
  const output: unknown = await tb.functions.call("any_function", { any: "input" });
  void [data, output];
}
