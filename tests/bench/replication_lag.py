#!/usr/bin/env python3
"""How far behind the replica runs under a steady write load.

    python3 tests/bench/replication_lag.py                 # file replica, 200 writes/s, 20 s
    python3 tests/bench/replication_lag.py --s3            # S3 replica on moto (loopback)
    python3 tests/bench/replication_lag.py --rate 500 --seconds 30
    python3 tests/bench/replication_lag.py --kill          # lose the machine mid-load

Starts the e2e app (target/debug/e2e-app; build it with `cargo build -p tinybase-e2e`)
with `[replication]` pointing at a temporary directory, or at a bucket of moto's S3
server, both from `bash tests/peers/install.sh`. Writers create records at a fixed rate
while `replication status --json` is sampled every 250 ms; each sample's `lag_seconds`
is the age of the oldest write Litestream has taken from the database but not shipped
yet. Prints the distribution of those samples and how many writes were acknowledged.

With --kill, the server and its Litestream are killed with SIGKILL together while the
writers are still writing (a lost machine), the replica is restored into a new file, and
every acknowledged write is looked for in it: prints how many were lost and how long
before the kill the newest and oldest lost ones had been acknowledged (the RPO seen).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
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


def start_moto() -> tuple[subprocess.Popen, str]:
    moto = subprocess.Popen(
        [str(PEERS / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    for line in moto.stderr:
        if "Running on " in line:
            endpoint = line.split("Running on ")[1].strip()
            threading.Thread(target=lambda: [None for _ in moto.stderr], daemon=True).start()
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/lag", method="PUT"))
            return moto, endpoint
    raise SystemExit("moto_server did not start")


def s3_replication_env(endpoint: str) -> dict[str, str]:
    """Settings replicating to the bucket `lag` that `start_moto` made, with dummy keys and
    never the cloud metadata address."""
    return {
        "TINYBASE_REPLICATION_URL": "s3://lag/app",
        "TINYBASE_REPLICATION_S3_ENDPOINT": endpoint,
        "TINYBASE_REPLICATION_S3_REGION": "us-east-1",
        "TINYBASE_REPLICATION_S3_ACCESS_KEY_ID": "testing",
        "TINYBASE_REPLICATION_S3_SECRET_ACCESS_KEY": "testing",
        "TINYBASE_REPLICATION_S3_PATH_STYLE": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=200, help="writes per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--s3", action="store_true", help="replicate to moto's S3")
    parser.add_argument("--kill", action="store_true", help="SIGKILL mid-load, then restore")
    args = parser.parse_args()
    for path in (APP, PEERS / "litestream"):
        if not path.exists():
            raise SystemExit(f"{path} is missing (cargo build -p tinybase-e2e; bash tests/peers/install.sh)")

    work = Path(tempfile.mkdtemp(prefix="tinybase-lag-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYBASE_") and k != "AWS_CA_BUNDLE"}
    env.update({
        "TINYBASE_ADMIN_EMAIL": "lag@example.com",
        "TINYBASE_ADMIN_PASSWORD": "lag-password",
        "TINYBASE_REPLICATION_LITESTREAM_BIN": str(PEERS / "litestream"),
        "TINYBASE_LOG_LEVEL": "warn",
        "TINYBASE_AUTH_LOGIN_LIMIT_PER_IP": "0",
    })
    moto = None
    if args.s3:
        moto, endpoint = start_moto()
        env.update(s3_replication_env(endpoint))
    else:
        env["TINYBASE_REPLICATION_URL"] = f"file://{work / 'replica'}"

    server = subprocess.Popen([str(APP), "serve", "--port", "0"], cwd=work, env={**env, "TINYBASE_LOG_LEVEL": "info"},
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    base = None
    for line in server.stderr:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            base = match.group(1)
            break
    if base is None:
        raise SystemExit("the server did not start")
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()

    token = request("POST", f"{base}/api/auth/login", {"email": "lag@example.com", "password": "lag-password"})["token"]
    request("POST", f"{base}/api/collections", {"name": "items", "schema": {"fields": [{"name": "n", "type": "int"}]}}, token)

    acknowledged = 0
    failed = 0
    acks: dict[int, float] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    writers = 8
    interval = writers / args.rate

    # With --kill the writers are still writing when the machine goes.
    writers_stop_at = stop_at + (2 if args.kill else 0)

    def writer(offset: int) -> None:
        nonlocal acknowledged, failed
        next_at = time.monotonic() + offset * interval / writers
        n = offset
        while next_at < writers_stop_at:
            time.sleep(max(0.0, next_at - time.monotonic()))
            try:
                request("POST", f"{base}/api/collections/items/records", {"n": n}, token)
                with lock:
                    acknowledged += 1
                    acks[n] = time.monotonic()
            except Exception:  # noqa: BLE001 - counted and reported
                with lock:
                    failed += 1
            n += writers
            next_at += interval

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    samples = []
    started = time.monotonic()
    while time.monotonic() < stop_at:
        out = subprocess.run([str(APP), "replication", "status", "--json"], cwd=work, env=env,
                             capture_output=True, text=True)
        if out.returncode == 0 and time.monotonic() - started > 2:
            samples.append(json.loads(out.stdout)["lag_seconds"])
        time.sleep(0.25)
    killed_at = None
    if args.kill:
        # A lost machine takes Litestream with it.
        litestream_pid = int((work / ".tinybase.db-litestream.pid").read_text())
        server.kill()
        os.kill(litestream_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        with lock:
            acked_before_kill = dict(acks)
    for thread in threads:
        thread.join()
    if args.kill:
        restored = work / "restored.db"
        out = subprocess.run([str(APP), "restore", "--from-replica"], cwd=work,
                             env={**env, "TINYBASE_DB_URL": str(restored)}, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"restore failed: {out.stderr}")
        conn = sqlite3.connect(restored)
        present = {row[0] for row in conn.execute("SELECT json_extract(data, '$.n') FROM records")}
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        lost = {n: killed_at - at for n, at in acked_before_kill.items() if n not in present}
        print(f"killed after {args.seconds} s; acknowledged before the kill: {len(acked_before_kill)}; "
              f"restored: {len(present)}; integrity_check: {integrity}")
        if lost:
            ages = sorted(lost.values())
            print(f"lost: {len(lost)} acknowledged writes, acknowledged {ages[0]:.2f} s to {ages[-1]:.2f} s before the kill")
        else:
            print("lost: none")
    else:
        server.terminate()
        server.wait(timeout=60)
    if moto:
        moto.kill()

    samples.sort()
    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))]
    print(f"replica: {'S3 (moto)' if args.s3 else 'file'}; target {args.rate} writes/s for {args.seconds} s")
    print(f"writes acknowledged: {acknowledged} ({acknowledged / args.seconds:.0f}/s), failed: {failed}")
    print(f"lag samples: {len(samples)}; p50 {pct(0.5):.2f} s, p90 {pct(0.9):.2f} s, "
          f"p99 {pct(0.99):.2f} s, max {samples[-1]:.2f} s, mean {statistics.mean(samples):.2f} s")
    return 1 if failed and not args.kill else 0


if __name__ == "__main__":
    sys.exit(main())
