#!/usr/bin/env python3
"""What a record hook and a webhook cost a create: one command.

    python3 tests/bench/hooks.py           # release build -> docs/BENCHMARKS-hooks.md
    python3 tests/bench/hooks.py --smoke   # CI: debug build, 1 s runs, no docs

One TinyBase server, the end-to-end app (tests/src/main.rs, which has one trivial
`before_create` hook on `hooked_posts`), with three collections of the main benchmark's
`posts` schema and rules:

- `posts`: no hook and no webhook, the baseline;
- `hooked_posts`: the hook runs inside every create's write transaction;
- `webhooked_posts`: one webhook gets every create, delivered from the change log after
  commit to a receiver on 127.0.0.1 (tests/src/bin/bench_webhook_sink.rs, answering 204).

wrk creates records in each collection in turn (16 connections, the signed-in user, the
same body as the main benchmark's create), for several rounds, the order rotating each
round; the table has the medians and each variant's ratio to the baseline of the same
rounds. The receiver counts the deliveries that arrived by the end, then for a few
seconds more (how fast the queue drains). Targets: each ratio at least 90 %.

Exits 1 when a request failed, after writing the report.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import cargo_out, ensure_wrk, log  # noqa: E402
from servers import POSTS, BenchError, Server, TinyBase, cleanup, expect, http  # noqa: E402
from workloads import CREATE_BODY, Result, Workload, run_wrk  # noqa: E402

ROOT = HERE.parent.parent
CACHE = HERE / ".cache"
HOOKED = "hooked_posts"
WEBHOOKED = "webhooked_posts"
TARGET = 0.9

# (collection, label) in table order; the first is the baseline.
VARIANTS = [
    (POSTS, "no hook, no webhook"),
    (HOOKED, "one trivial `before_create` hook"),
    (WEBHOOKED, "one webhook on create"),
]


def build(release: bool) -> tuple[Path, Path]:
    """The end-to-end app and the webhook receiver, built where cargo puts them."""
    out = cargo_out(release)
    cmd = ["cargo", "build", "-p", "tinybase-e2e", "--bin", "e2e-app",
           "--bin", "bench_webhook_sink"] + (["--release"] if release else [])
    log(" ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)
    return out / "e2e-app", out / "bench_webhook_sink"


class Receiver:
    """The webhook receiver (tests/src/bin/bench_webhook_sink.rs) on 127.0.0.1: answers
    every delivery with 204 and counts. A compiled one-thread server, so that on a shared
    2-core machine the benchmark measures what a webhook costs TinyBase rather than what
    receiving costs (a Python receiver took most of a core at 5,000 deliveries/s)."""

    def __init__(self, binary: Path) -> None:
        self.process = subprocess.Popen([str(binary), "127.0.0.1:0"], stdout=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("listening on "):
            self.process.kill()
            raise BenchError(f"the webhook receiver did not start: {line!r}")
        self.base = line.split()[-1]

    @property
    def url(self) -> str:
        return f"{self.base}/hook"

    @property
    def count(self) -> int:
        return int(urllib.request.urlopen(f"{self.base}/count", timeout=10).read())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def set_up(server: TinyBase, receiver: Receiver) -> None:
    """`posts` and the user (as in the main benchmark), the two other collections, and the
    webhook on `webhooked_posts`."""
    server.setup(with_indexed=False)
    for name in (HOOKED, WEBHOOKED):
        expect(http("POST", server.base + "/api/collections",
                    server.collection_body(False, name), server.admin_token), {201},
               f"create collection {name}")
    expect(http("POST", server.base + "/api/admin/webhooks",
                {"url": receiver.url, "collections": [WEBHOOKED], "events": ["create"],
                 "secret": "benchmark-webhook-secret"}, server.admin_token), {201},
           "create the webhook")
    server.login_user()


def create_in(collection: str) -> Workload:
    return Workload(key=f"create-{collection}", label=f"create in {collection}",
                    method="POST", path=lambda s: Server.records_path(collection),
                    body=lambda s: CREATE_BODY, auth=True)


def measure(server: TinyBase, args, scratch: Path) -> dict[str, list[Result]]:
    runs: dict[str, list[Result]] = {name: [] for name, _ in VARIANTS}
    for round_no in range(args.rounds):
        shift = round_no % len(VARIANTS)
        for name, _label in VARIANTS[shift:] + VARIANTS[:shift]:
            result = run_wrk(server, create_in(name), args.wrk_seconds, scratch)
            runs[name].append(result)
            log(f"  round {round_no + 1}: {name:16} {result.rps:9,.0f} req/s  "
                f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms"
                + (f"  ERRORS: {result.errors}" if result.errors else ""))
    return runs


def report(runs: dict[str, list[Result]], delivered: int, created: int,
           drain_rate: float, args, path: Path) -> list[str]:
    """Writes the report; returns the targets not met."""
    base = statistics.median(r.rps for r in runs[POSTS])
    lines = [
        "# Hook and webhook benchmark",
        "",
        "`python3 tests/bench/hooks.py`"
        + (" --smoke (debug build, 1 s runs: a check that it runs, not a measurement)"
           if args.smoke else ""),
        f"— {args.rounds} rounds of {args.wrk_seconds:g} s per variant, 16 connections, "
        "one TinyBase server (the end-to-end app, "
        f"{'debug' if args.smoke else 'release'} build) and its webhook receiver on "
        "127.0.0.1 on the same 2-core machine as wrk. How it is measured: the docstring "
        "of tests/bench/hooks.py.",
        "",
        "| creates in a collection with | req/s (median) | p50 / p99 ms | of the baseline | target ≥ 90 % |",
        "|---|---:|---:|---:|---|",
    ]
    missed = []
    for name, label in VARIANTS:
        rps = statistics.median(r.rps for r in runs[name])
        p50 = statistics.median(r.p50_ms for r in runs[name])
        p99 = statistics.median(r.p99_ms for r in runs[name])
        ratio = rps / base if base else 0.0
        if name == POSTS:
            verdict = "(baseline)"
        elif ratio >= TARGET:
            verdict = "met"
        else:
            verdict = "**not met**"
            missed.append(f"{label}: {ratio:.0%}")
        lines.append(f"| {label} | {rps:,.0f} | {p50:.1f} / {p99:.1f} | {ratio:.0%} | {verdict} |")
    lines += ["", f"Webhook deliveries received by the end of the run: {delivered:,} of "
              f"{created:,} creates in `{WEBHOOKED}` (the rest were still queued: deliveries "
              "follow the change log after commit and never hold up a write); "
              f"afterwards the queue drained at {drain_rate:,.0f} deliveries/s."]
    path.write_text("\n".join(lines) + "\n")
    return missed


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true",
                   help="CI mode: debug build, 1 round of 1 s runs, report in tests/bench/.cache")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--wrk-seconds", type=float, default=10)
    p.add_argument("--drain-seconds", type=float, default=5,
                   help="seconds to count webhook deliveries after the last run")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.smoke:
        args.rounds, args.wrk_seconds, args.drain_seconds = 1, 1, 1
        args.out = args.out or CACHE / "smoke" / "BENCHMARKS-hooks.md"
    args.out = args.out or ROOT / "docs" / "BENCHMARKS-hooks.md"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    ensure_wrk()
    binary, sink = build(release=not args.smoke)
    tmp = Path(tempfile.mkdtemp(prefix="tinybase-hooks-"))
    receiver = Receiver(sink)
    server = TinyBase(tmp / "tinybase", binary)
    try:
        set_up(server, receiver)
        log(f"TinyBase (pid {server.pid}, port {server.port}), receiver {receiver.url}")
        runs = measure(server, args, tmp / "scratch")
        created = sum(r.requests for r in runs[WEBHOOKED])
        delivered = receiver.count
        # How fast the queue drains once no create competes for the machine.
        time.sleep(args.drain_seconds)
        drain_rate = (receiver.count - delivered) / args.drain_seconds
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        receiver.stop()
        cleanup(tmp)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    missed = report(runs, delivered, created, drain_rate, args, args.out)
    log(f"wrote {args.out}")
    print(args.out.read_text(), flush=True)
    if missed:
        log("targets not met: " + "; ".join(missed))
    failed = [r for rs in runs.values() for r in rs if r.errors]
    # One closing line for CI: every measured run, failed when a request failed.
    total = sum(len(rs) for rs in runs.values())
    print(f"{total - len(failed)} passed, {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
