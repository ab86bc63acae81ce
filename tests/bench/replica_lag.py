#!/usr/bin/env python3
"""How long a write on the primary takes to become readable on a read replica.

    python3 tests/bench/replica_lag.py                       # file replica, 200 writes/s, 20 s
    python3 tests/bench/replica_lag.py --rate 100 --seconds 30
    python3 tests/bench/replica_lag.py --s3                  # through moto's S3 (loopback)

Starts the e2e app (target/debug/e2e-app; `cargo build -p tinybase-e2e`) twice: a
primary with `[replication]` on a temporary directory, and `serve --replica` following
it (Litestream from `bash tests/peers/install.sh`). Writers create records on the
primary at a fixed rate and note when each was acknowledged; a reader lists the newest
records on the replica every 50 ms and notes when each first shows. A write's lag is
the difference. Prints the distribution (p50/p90/p99/max) and how many writes never
showed within the run (there should be none).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "tests/.cache/peers/venv/bin"
APP = ROOT / "target/debug/e2e-app"


def request(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def start(args: list[str], cwd: Path, env: dict) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([str(APP), *args], cwd=cwd, env=env,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in server.stderr:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
            return server, match.group(1)
    raise SystemExit(f"{args} did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=200, help="writes per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--sync-ms", type=int, default=1000, help="replication.sync_interval_ms")
    parser.add_argument("--s3", action="store_true", help="replicate through moto's S3")
    args = parser.parse_args()
    for path in (APP, PEERS / "litestream"):
        if not path.exists():
            raise SystemExit(f"{path} is missing (cargo build -p tinybase-e2e; bash tests/peers/install.sh)")

    work = Path(tempfile.mkdtemp(prefix="tinybase-replica-lag-"))
    (work / "primary").mkdir()
    (work / "replica-node").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYBASE_") and k != "AWS_CA_BUNDLE"}
    env.update({
        "TINYBASE_ADMIN_EMAIL": "lag@example.com",
        "TINYBASE_ADMIN_PASSWORD": "lag-password",
        "TINYBASE_REPLICATION_LITESTREAM_BIN": str(PEERS / "litestream"),
        "TINYBASE_REPLICATION_URL": f"file://{work / 'replica'}",
        "TINYBASE_REPLICATION_SYNC_INTERVAL_MS": str(args.sync_ms),
        "TINYBASE_LOG_LEVEL": "info",
        "TINYBASE_AUTH_LOGIN_LIMIT_PER_IP": "0",
    })
    moto = None
    if args.s3:
        # Same directory; start_moto makes the bucket `lag`.
        from replication_lag import s3_replication_env, start_moto
        moto, endpoint = start_moto()
        env.update(s3_replication_env(endpoint))
    primary, base = start(["serve", "--port", "0"], work / "primary", env)
    token = request("POST", f"{base}/api/auth/login", {"email": "lag@example.com", "password": "lag-password"})["token"]
    request("POST", f"{base}/api/collections", {"name": "items", "schema": {"fields": [{"name": "n", "type": "int"}]}}, token)
    request("POST", f"{base}/api/collections/items/records", {"n": -1}, token)
    time.sleep(3)  # the first sync, so the replica has something to restore
    replica, replica_base = start(["serve", "--port", "0", "--replica"], work / "replica-node",
                                  {**env, "TINYBASE_REPLICATION_PRIMARY_URL": base})

    acks: dict[int, float] = {}
    seen: dict[int, float] = {}
    failed = 0
    lock = threading.Lock()
    writers = 8
    interval = writers / args.rate
    stop_at = time.monotonic() + args.seconds

    def writer(offset: int) -> None:
        nonlocal failed
        next_at = time.monotonic() + offset * interval / writers
        n = offset
        while next_at < stop_at:
            time.sleep(max(0.0, next_at - time.monotonic()))
            try:
                request("POST", f"{base}/api/collections/items/records", {"n": n}, token)
                with lock:
                    acks[n] = time.monotonic()
            except Exception:  # noqa: BLE001 - counted and reported
                with lock:
                    failed += 1
            n += writers
            next_at += interval

    reader_stop = threading.Event()

    def reader() -> None:
        url = f"{replica_base}/api/collections/items/records?sort=-created_at&per_page=500"
        while not reader_stop.is_set():
            try:
                items = request("GET", url, token=token)["items"]
            except Exception:  # noqa: BLE001 - the token may not be replicated yet
                time.sleep(0.05)
                continue
            now = time.monotonic()
            with lock:
                for item in items:
                    seen.setdefault(item["data"]["n"], now)
            time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(10)  # let the last writes arrive
    reader_stop.set()
    watcher.join()
    replica.terminate()
    primary.terminate()
    replica.wait(timeout=60)
    primary.wait(timeout=60)
    if moto:
        moto.kill()

    lags = sorted(max(0.0, seen[n] - at) for n, at in acks.items() if n in seen)
    missing = sum(1 for n in acks if n not in seen)

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p * len(lags)))]

    follow_ms = min(max(args.sync_ms // 4, 100), 1000)
    print(f"read replica ({'S3 (moto)' if args.s3 else 'file'} replica, sync {args.sync_ms} ms, "
          f"follow {follow_ms} ms); "
          f"target {args.rate} writes/s for {args.seconds} s")
    print(f"writes acknowledged: {len(acks)} ({len(acks) / args.seconds:.0f}/s), failed: {failed}, "
          f"never seen on the replica: {missing}")
    if lags:
        print(f"lag to the replica: p50 {pct(0.5):.2f} s, p90 {pct(0.9):.2f} s, p99 {pct(0.99):.2f} s, "
              f"max {lags[-1]:.2f} s, mean {statistics.mean(lags):.2f} s")
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
