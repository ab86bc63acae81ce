import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { adminToken, baseUrl } from "./helpers.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist/cli.js");
const generated = join(root, "test/.generated/tinybase.d.ts");

function runCli(args, env = {}) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });
}

function tsc(project) {
  return spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], {
    cwd: root,
    encoding: "utf8",
  });
}

test("typegen as an admin writes types for every collection, function and admin endpoint", () => {
  const result = runCli(["typegen", baseUrl, "-o", generated], { TINYBASE_TOKEN: adminToken });
  assert.equal(result.status, 0, result.stderr);
  const types = readFileSync(generated, "utf8");
  for (const path of [
    '"/api/collections/posts/records"',
    '"/api/collections/digests/records"',
    '"/api/functions/publish_post"',
    '"/api/admin/users"',
  ]) {
    assert.ok(types.includes(path), `${path} missing`);
  }
});

test("typegen without a token types what anonymous callers see", () => {
  const output = join(root, "test/.generated/anonymous.d.ts");
  const result = runCli(["typegen", baseUrl, "-o", output], { TINYBASE_TOKEN: "" });
  assert.equal(result.status, 0, result.stderr);
  const types = readFileSync(output, "utf8");
  assert.ok(types.includes('"/api/collections/posts/records"'));
  assert.ok(!types.includes('"/api/collections/digests/records"'), "admin-only collection leaked");
});

test("typegen refuses bad usage and reports an unreachable server", () => {
  const usage = runCli(["typegen", baseUrl]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: tinybase-client typegen/);
  const unknown = runCli(["frobnicate"]);
  assert.equal(unknown.status, 2);
  const down = runCli(["typegen", `${baseUrl}/nope`, "-o", join(root, "test/.generated/x.d.ts")]);
  assert.equal(down.status, 1);
  assert.match(down.stderr, /^error: GET .*404/m);
});

test("an app using the generated types type-checks, and wrong names do not", () => {
  // The generated file comes from the first test; node:test runs a file's tests in order.
  const ok = tsc(join(root, "test/types/tsconfig.json"));
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  // Each line of the expected-error file must fail on its own: tsc reports every line.
  const bad = tsc(join(root, "test/types/tsconfig.bad.json"));
  assert.notEqual(bad.status, 0);
  const lines = new Set(
    [...bad.stdout.matchAll(/wrong\.ts\((\d+),\d+\): error TS\d+/g)].map((match) => Number(match[1])),
  );
  const source = readFileSync(join(root, "test/types/wrong.ts"), "utf8").split("\n");
  const expected = source.flatMap((line, i) => (/^\s*[^/\s].*\/\/ error:/.test(line) ? [i + 1] : []));
  assert.ok(expected.length >= 5);
  assert.deepEqual([...lines].sort((a, b) => a - b), expected, bad.stdout);
});
