#!/usr/bin/env python3
"""TinyBase vs PocketBase file benchmark: one command.

    python3 tests/bench/files.py           # release builds -> docs/BENCHMARKS-files.md
    python3 tests/bench/files.py --smoke   # CI: debug build, short runs, no docs

For each server, on a fresh data directory, a `photos` collection with one image field
(public list and view, create for signed-in users; PocketBase's field allows the 100x100
thumbnail, which it needs before it makes one):

1. upload: wrk sends the same multipart create with a 100 KiB PNG (random pixels, so it
   does not compress) over 16 connections, as the signed-in user;
2. download: wrk fetches the files of 50 uploaded records in turn
   (`GET /api/files/photos/{record}/{file}`, the same path on both servers);
3. thumbnail: the same with `?thumb=100x100` (each made on first request and cached);
4. one large upload (1 GiB; 64 MiB with --smoke) streamed from the client, while the
   server's resident memory is sampled every 50 ms: the peak above what it held before.

Requests per second, p50 and p99 come from wrk (tests/bench/bench.lua). Exits 1 when a
request failed, after writing the report.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from http.client import HTTPConnection
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import build_binaries, ensure_venv, ensure_wrk, log  # noqa: E402
from servers import BenchError, PocketBase, Server, TinyBase, cleanup, expect, http  # noqa: E402
from workloads import Result, Workload, run_wrk  # noqa: E402

ROOT = HERE.parent.parent
CACHE = HERE / ".cache"
PHOTOS = "photos"
BIG = "big_files"
BOUNDARY = "tinybase-bench-boundary-7d1f0c"
SEEDED = 50


def png(side: int, seed: int = 1) -> bytes:
    """A real RGB PNG of random pixels, stored without compression (~3·side² bytes)."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


def multipart(field: str, name: str, content_type: str, head: bytes) -> tuple[bytes, bytes]:
    """The bytes before and after a file part's content, in a one-part form."""
    before = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; "
              f"filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").encode() + head
    after = f"\r\n--{BOUNDARY}--\r\n".encode()
    return before, after


def upload_body(image: bytes) -> bytes:
    before, after = multipart("image", "photo.png", "image/png", image)
    return before + after


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def setup_tinybase(server: TinyBase, big_bytes: int) -> None:
    server.setup(with_indexed=False)
    server.login_user()
    fields = {PHOTOS: [{"name": "image", "type": "file", "max_size": 5_000_000,
                        "mime_types": ["image/png", "image/jpeg"]}],
              BIG: [{"name": "blob", "type": "file", "max_size": big_bytes * 2}]}
    for name, schema in fields.items():
        expect(http("POST", server.base + "/api/collections",
                    {"name": name, "schema": {"fields": schema},
                     "options": {"list_rule": "public", "view_rule": "public",
                                 "create_rule": "auth", "update_rule": "owner",
                                 "delete_rule": "owner"}}, server.admin_token),
               {201}, f"TinyBase create collection {name}")


def setup_pocketbase(server: PocketBase, big_bytes: int) -> None:
    server.setup(with_indexed=False)
    server.login_user()
    fields = {PHOTOS: {"name": "image", "type": "file", "maxSelect": 1, "maxSize": 5_000_000,
                       "mimeTypes": ["image/png", "image/jpeg"], "thumbs": ["100x100"]},
              BIG: {"name": "blob", "type": "file", "maxSelect": 1, "maxSize": big_bytes * 2}}
    for name, field in fields.items():
        expect(http("POST", server.base + "/api/collections",
                    {"name": name, "type": "base", "listRule": "", "viewRule": "",
                     "createRule": '@request.auth.id != ""', "fields": [field]},
                    server.admin_token, ""), {200}, f"PocketBase create collection {name}")


def stored_name(server: Server, record: dict, field: str) -> str:
    data = record["data"] if isinstance(server, TinyBase) else record
    return data[field]


def post_form(server: Server, collection: str, before: bytes, after: bytes,
              content: bytes | None = None, size: int = 0,
              chunk: bytes = b"") -> tuple[int, bytes]:
    """A multipart create streamed from here: `content`, or `size` bytes of `chunk` repeated."""
    length = len(before) + (len(content) if content is not None else size) + len(after)
    conn = HTTPConnection("127.0.0.1", server.port, timeout=600)
    conn.putrequest("POST", f"/api/collections/{collection}/records")
    conn.putheader("Content-Type", CONTENT_TYPE)
    conn.putheader("Content-Length", str(length))
    conn.putheader("Authorization", server.auth_prefix + server.user_token)
    conn.endheaders()
    try:
        conn.send(before)
        if content is not None:
            conn.send(content)
        else:
            left = size
            while left > 0:
                piece = chunk[:left]
                conn.send(piece)
                left -= len(piece)
        conn.send(after)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server refused before reading it all: its answer says why
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def seed_files(server: Server, image: bytes) -> None:
    """Uploads SEEDED photos; their `record/file` paths go to `server.ids` for wrk."""
    server.ids = []
    before, after = multipart("image", "photo.png", "image/png", b"")
    for _ in range(SEEDED):
        status, body = post_form(server, PHOTOS, before, after, content=image)
        if status not in (200, 201):
            raise BenchError(f"{server.name} upload: HTTP {status}: {body[:300]!r}")
        record = json.loads(body)
        server.ids.append(f"{record['id']}/{stored_name(server, record, 'image')}")
    got = urllib_get(f"{server.base}/api/files/{PHOTOS}/{server.ids[0]}")
    if got != image:
        raise BenchError(f"{server.name} served other bytes than were uploaded")
    thumb = urllib_get(f"{server.base}/api/files/{PHOTOS}/{server.ids[0]}?thumb=100x100")
    if thumb == image or not thumb:
        raise BenchError(f"{server.name} served no thumbnail")


def urllib_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return resp.read()


class RssSampler(threading.Thread):
    """The peak resident memory of a process, sampled every 50 ms."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server = server
        self.stop_flag = threading.Event()
        self.peak_kib = server._status_kib("VmRSS")

    def run(self) -> None:
        while not self.stop_flag.wait(0.05):
            self.peak_kib = max(self.peak_kib, self.server._status_kib("VmRSS"))


def big_upload(server: Server, size: int) -> dict:
    time.sleep(1)
    idle = server._status_kib("VmRSS")
    sampler = RssSampler(server)
    sampler.start()
    before, after = multipart("blob", "big.bin", "application/octet-stream", b"")
    started = time.monotonic()
    status, body = post_form(server, BIG, before, after, size=size,
                             chunk=random.Random(3).randbytes(1 << 20))
    seconds = time.monotonic() - started
    sampler.stop_flag.set()
    sampler.join()
    out = {"status": status, "seconds": seconds, "idle_mib": idle / 1024,
           "peak_above_idle_mib": (sampler.peak_kib - idle) / 1024,
           "error": None if status in (200, 201) else body[:200].decode(errors="replace")}
    log(f"  {server.name:10} {size / 2**20:,.0f} MiB upload: HTTP {status} in {seconds:.1f} s, "
        f"RSS {idle / 1024:.1f} MiB idle, peak +{out['peak_above_idle_mib']:.1f} MiB")
    return out


def workloads(image: bytes) -> list[Workload]:
    files = "/api/files/" + PHOTOS + "/{id}"
    return [
        Workload("upload", "upload a 100 KiB PNG (auth)", "POST",
                 lambda s: f"/api/collections/{PHOTOS}/records",
                 raw_body=lambda s: (upload_body(image), CONTENT_TYPE), auth=True),
        Workload("download", "download one of 50 files", "GET", lambda s: files,
                 cycle_ids=True),
        Workload("thumb", "download its 100x100 thumbnail", "GET",
                 lambda s: files + "?thumb=100x100", cycle_ids=True),
    ]


def measure(server: Server, args, scratch: Path) -> dict:
    image = png(185)
    seed_files(server, image)
    out: dict = {"image_bytes": len(image)}
    for w in workloads(image):
        result: Result = run_wrk(server, w, args.wrk_seconds, scratch)
        out[w.key] = result
        log(f"  {server.name:10} {w.key:8} {result.rps:8,.0f} req/s  p50 {result.p50_ms:6.1f} ms"
            f"  p99 {result.p99_ms:6.1f} ms  peak RSS {result.peak_rss_mib:.0f} MiB"
            + (f"  ERRORS: {result.errors}" if result.errors else ""))
    out["big"] = big_upload(server, args.big_mib << 20)
    return out


def report(results: dict, args, path: Path) -> None:
    names = list(results)
    lines = [
        "# File benchmark: TinyBase vs PocketBase",
        "",
        f"`python3 tests/bench/files.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
        f"on {time.strftime('%Y-%m-%d')}, both servers on 127.0.0.1 on the same 2-core "
        f"machine as wrk ({16} connections, {args.wrk_seconds:g} s per workload), "
        f"{'debug' if args.smoke else 'release'} builds, local disk storage, fresh data "
        "directories. How each number is measured: the docstring of tests/bench/files.py.",
        "",
        "| workload | " + " | ".join(f"{n} req/s | p50 / p99 ms" for n in names)
        + " | ratio |",
        "|---|" + "---:|---:|" * len(names) + "---:|",
    ]
    for w in workloads(b""):
        cells = []
        for n in names:
            r = results[n][w.key]
            cells.append(f"{r.rps:,.0f} | {r.p50_ms:.1f} / {r.p99_ms:.1f}")
        ratio = (results[names[0]][w.key].rps / results[names[1]][w.key].rps
                 if len(names) == 2 and results[names[1]][w.key].rps else 0)
        lines.append(f"| {w.label} | " + " | ".join(cells) + f" | {ratio:.1f}× |")
    lines += ["", f"One {args.big_mib:,} MiB upload, streamed:", "",
              "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    big = {n: results[n]["big"] for n in names}
    lines.append("| answer | " + " | ".join(
        f"HTTP {b['status']}" + (f" ({b['error']})" if b["error"] else "")
        for b in big.values()) + " |")
    lines.append("| seconds | " + " | ".join(f"{b['seconds']:.1f}" for b in big.values()) + " |")
    lines.append("| RSS idle (MiB) | " + " | ".join(f"{b['idle_mib']:.1f}" for b in big.values())
                 + " |")
    lines.append("| RSS peak above idle (MiB) | " + " | ".join(
        f"{b['peak_above_idle_mib']:.1f}" for b in big.values()) + " |")
    path.write_text("\n".join(lines) + "\n")


def failures(results: dict) -> list[str]:
    bad = []
    for name, r in results.items():
        for w in workloads(b""):
            if r[w.key].errors:
                bad.append(f"{name} {w.key}: {r[w.key].errors} failed requests")
        if name == "TinyBase" and r["big"]["error"]:
            bad.append(f"TinyBase large upload: {r['big']['error']}")
    return bad


def build(release: bool) -> Path:
    """examples/hello, built where cargo puts it (`CARGO_TARGET_DIR` respected)."""
    hello, _floor = build_binaries(release)
    return hello


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true",
                   help="CI mode: debug build, 1 s wrk runs, a 64 MiB large upload; report "
                        "in tests/bench/.cache")
    p.add_argument("--wrk-seconds", type=float, default=10)
    p.add_argument("--big-mib", type=int, default=1024)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.smoke:
        args.wrk_seconds, args.big_mib = 1, 64
        args.out = args.out or CACHE / "smoke" / "BENCHMARKS-files.md"
    args.out = args.out or ROOT / "docs" / "BENCHMARKS-files.md"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    ensure_wrk()
    pb_bin = ensure_venv(with_plot=False)
    tb_bin = build(release=not args.smoke)
    tmp = Path(tempfile.mkdtemp(prefix="tinybase-files-"))
    results: dict = {}
    try:
        for server, setup in ((TinyBase(tmp / "tinybase", tb_bin), setup_tinybase),
                              (PocketBase(tmp / "pocketbase", pb_bin), setup_pocketbase)):
            try:
                setup(server, args.big_mib << 20)
                log(f"{server.name} (pid {server.pid}, port {server.port})")
                results[server.name] = measure(server, args, tmp / "scratch")
            finally:
                server.stop()
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        cleanup(tmp)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report(results, args, args.out)
    log(f"wrote {args.out}")
    print(args.out.read_text(), flush=True)
    bad = failures(results)
    # One closing line for CI: each server's three workloads and TinyBase's large upload.
    measured = 3 * len(results) + 1
    print(f"{measured - len(bad)} passed, {len(bad)} failed", flush=True)
    if bad:
        print("error: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
