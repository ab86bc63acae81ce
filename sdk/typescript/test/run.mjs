// Runs the client's tests against a real TinyBase server: builds the blog example, starts
// it on 127.0.0.1 (port 0, read back from its log) with a fresh SQLite file, installs the
// blog's collections, runs every test/*.test.mjs with node:test, and ends with the line
// "N passed, N failed" that .ci/run counts.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const workspace = resolve(here, "../../..");
const adminEmail = "sdk-admin@example.com";
const adminPassword = "sdk-admin-password";

const build = spawnSync("cargo", ["build", "--quiet", "-p", "blog"], { cwd: workspace, stdio: "inherit" });
if (build.status !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const data = mkdtempSync(join(tmpdir(), "tinybase-sdk-"));

// An SMTP server on loopback that keeps every mail (the account tests read the tokens
// from it): aiosmtpd, installed by tests/peers/install.sh.
const python = join(workspace, "tests/.cache/peers/venv/bin/python");
if (!existsSync(python)) {
  console.error("the SMTP server for the account tests is missing: run `bash tests/peers/install.sh`");
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const mailDir = join(data, "mail");
const smtpPort = await freePort();
const smtp = spawn(
  python,
  ["-m", "aiosmtpd", "-n", "-l", `127.0.0.1:${smtpPort}`, "-c", "aiosmtpd.handlers.Mailbox", mailDir],
  { stdio: "ignore" },
);
await waitForPort(smtpPort);
process.env.SDK_TEST_MAILBOX = mailDir;
process.env.SDK_TEST_MAIL_PYTHON = python;
process.env.SDK_TEST_MAIL_DUMP = join(workspace, "tests/peers/mail_dump.py");

const logFile = join(data, "server.log");
const { openSync } = await import("node:fs");
const log = openSync(logFile, "w");
// cargo put it in CARGO_TARGET_DIR when that is set, as the build above did.
const target = process.env.CARGO_TARGET_DIR || join(workspace, "target");
const server = spawn(join(target, "debug/blog"), ["serve", "--host", "127.0.0.1", "--port", "0"], {
  env: {
    ...process.env,
    TINYBASE_DB_URL: join(data, "sdk.db"),
    RUST_LOG: "warn,tinybase::cli=info",
    TINYBASE_AUTH_LOGIN_LIMIT_PER_IP: "0",
    TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL: "0",
    TINYBASE_AUTH_REGISTRATION_LIMIT_PER_IP: "0",
    TINYBASE_ADMIN_EMAIL: adminEmail,
    TINYBASE_ADMIN_PASSWORD: adminPassword,
    TINYBASE_MAIL_SMTP_HOST: "127.0.0.1",
    TINYBASE_MAIL_SMTP_PORT: String(smtpPort),
    TINYBASE_MAIL_SMTP_TLS: "none",
    TINYBASE_AUTH_MAIL_LIMIT_PER_EMAIL: "0",
    TINYBASE_AUTH_MAIL_LIMIT_PER_IP: "0",
  },
  stdio: ["ignore", log, log],
});
const stop = () => {
  server.kill();
  smtp.kill();
  rmSync(data, { recursive: true, force: true });
};

let exitCode = 1;
try {
  const baseUrl = await waitForListening();
  const admin = await postJson(`${baseUrl}/api/auth/login`, { email: adminEmail, password: adminPassword });
  await postJson(`${baseUrl}/api/functions/install_blog`, undefined, admin.token);

  process.env.TINYBASE_URL = baseUrl;
  process.env.TINYBASE_ADMIN_TOKEN = admin.token;
  const files = readdirSync(here)
    .filter((name) => name.endsWith(".test.mjs"))
    // `npm test -- realtime` runs only the files whose names contain "realtime".
    .filter((name) => process.argv.slice(2).every((part) => name.includes(part)))
    .sort()
    .map((name) => join(here, name));
  let passed = 0;
  let failed = 0;
  // A safety net so a hang fails the run instead of blocking CI; no test comes near it.
  const stream = run({ files, concurrency: 1, timeout: 120_000 });
  stream.on("test:pass", (event) => {
    if (event.details?.type !== "suite" && event.nesting === 0) passed += 1;
  });
  stream.on("test:fail", (event) => {
    if (event.details?.type !== "suite" && event.nesting === 0) failed += 1;
  });
  await new Promise((resolveRun, reject) => {
    stream.compose(spec).on("data", (chunk) => process.stdout.write(chunk)).on("end", resolveRun).on("error", reject);
  });
  if (readFileSync(logFile, "utf8").includes("panicked")) {
    console.log("the server logged a panic:\n" + readFileSync(logFile, "utf8"));
    failed += 1;
  }
  console.log(`${passed} passed, ${failed} failed`);
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
} catch (error) {
  console.error(error);
  console.error(readFileSync(logFile, "utf8"));
  console.log("0 passed, 1 failed");
} finally {
  stop();
}
process.exit(exitCode);

async function waitForListening() {
  for (let i = 0; i < 600; i += 1) {
    const match = readFileSync(logFile, "utf8").match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    if (match) return match[1];
    if (server.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the server did not start listening");
}

/** A loopback port free right now (aiosmtpd needs one given; it cannot report its own). */
async function freePort() {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Resolves once something accepts connections on the loopback `port`. */
async function waitForPort(port) {
  const { connect } = await import("node:net");
  for (let i = 0; i < 300; i += 1) {
    const open = await new Promise((done) => {
      const socket = connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.on("error", () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

async function postJson(url, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}
