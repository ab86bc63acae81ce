"""The workloads and the wrk runner that measures one workload against one server."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from servers import (POSTS, POSTS_AUTHOR, POSTS_IDX, POSTS_RULE, BenchError, Floor, Server,
                     TinyBase, expect, http)

HERE = Path(__file__).resolve().parent
LUA = HERE / "bench.lua"
CONNECTIONS = 16
THREADS = 2
CREATE_BODY = {"title": "A new post from the benchmark", "published": True,
               "tags": ["bench", "rust"], "rating": 4}
MIX_EVERY = 10  # the mixed workload: every 10th request is a create, the rest lists


@dataclass
class Workload:
    """One request shape, sent again and again by wrk."""

    key: str
    label: str
    method: str
    path: Callable[[Server], str]
    body: Callable[[Server], dict] | None = None
    cycle_ids: bool = False
    auth: bool = False
    only: type | None = None  # run against this server kind only
    index: bool | None = None  # the rating index must be on/off first (offline seeding)
    floor: bool = False  # also run against the floor server
    mix: Workload | None = None  # every `mix_every`-th request is this one instead
    mix_every: int = 0
    # A body sent as these bytes with this content type instead of `body` as JSON.
    raw_body: Callable[[Server], tuple[bytes, str]] | None = None

    def applies_to(self, server: Server) -> bool:
        if isinstance(server, Floor):
            return self.floor
        return self.only is None or isinstance(server, self.only)

    def requests(self) -> list[Workload]:
        """The request shapes sent: this one, and the one mixed in if any."""
        return [self] + ([self.mix] if self.mix else [])


def record_path(s: Server) -> str:
    return s.record_path


def indexed(api_seeded: bool) -> tuple[str, bool | None]:
    """Where the "rating index" workloads run: with API seeding `posts_idx`, which had its
    index from creation; with offline seeding `posts`, after adding the index to it."""
    return (POSTS_IDX, None) if api_seeded else (POSTS, True)


def workloads_main(api_seeded: bool) -> list[Workload]:
    """The side-by-side table, in the order they run.

    Creates come late (they add records); login comes last because password hashing
    allocates the most memory, which a process may keep, and that would inflate the
    peak RSS of the workloads after it.
    """
    idx, idx_on = indexed(api_seeded)
    unindexed = None if api_seeded else False
    return [
        Workload("get", "get one record by id", "GET", lambda s: s.record_path + "/{id}",
                 cycle_ids=True, floor=True),
        Workload("list", "list 20, filter `rating > 3`, with total, no index", "GET",
                 lambda s: s.list_path(), index=unindexed),
        Workload("list_idx", "list 20, filter `rating > 3`, with total, rating index", "GET",
                 lambda s: s.list_path(collection=idx), index=idx_on),
        Workload("function", "function call `add_numbers` (auth)", "POST",
                 lambda s: "/api/functions/add_numbers", body=lambda s: {"x": 2, "y": 3},
                 auth=True, only=TinyBase),
        Workload("mixed", "9 lists as list_idx : 1 create (auth), same collection", "GET",
                 lambda s: s.list_path(collection=idx), index=idx_on,
                 mix=Workload("mixed_create", "create in the listed collection", "POST",
                              lambda s: s.records_path(idx), body=lambda s: CREATE_BODY,
                              auth=True),
                 mix_every=MIX_EVERY),
        *(relation_workloads() if api_seeded else []),
        Workload("create", "create a record (auth)", "POST", record_path,
                 body=lambda s: CREATE_BODY, auth=True),
        Workload("login", "password login", "POST", lambda s: s.login_path,
                 body=lambda s: s.login_body()),
    ]


def relation_workloads() -> list[Workload]:
    """A list under an expression rule, and a list expanding a relation: their collections
    exist only with API seeding (see servers.py)."""
    return [
        Workload("list_rule", "list 20, rule `published = true || owner_id = @request.auth.id` "
                 "(auth)", "GET",
                 lambda s: s.list_path(filtered=False, collection=POSTS_RULE), auth=True),
        Workload("list_expand", "list 20, `expand=author`", "GET",
                 lambda s: s.list_path(filtered=False, collection=POSTS_AUTHOR)
                 + "&expand=author"),
    ]


def workloads_scaling(api_seeded: bool) -> list[Workload]:
    idx, idx_on = indexed(api_seeded)
    unindexed = None if api_seeded else False
    return [
        Workload("get", "get by id", "GET", lambda s: s.record_path + "/{id}", cycle_ids=True),
        Workload("list", "filtered list, no index", "GET", lambda s: s.list_path(),
                 index=unindexed),
        Workload("page1", "unfiltered list, page 1", "GET",
                 lambda s: s.list_path(page=1, filtered=False)),
        Workload("page1000", "unfiltered list, page 1,000", "GET",
                 lambda s: s.list_path(page=1000, filtered=False)),
        Workload("list_idx", "filtered list, rating index", "GET",
                 lambda s: s.list_path(collection=idx), index=idx_on),
        Workload("create", "create", "POST", record_path, body=lambda s: CREATE_BODY,
                 auth=True),
    ]


@dataclass
class Result:
    server: str
    workload: str
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_per_1k: float = 0.0
    peak_rss_mib: float = 0.0
    peak_wal_mib: float = 0.0
    errors: int = 0
    raw: dict = field(default_factory=dict)


class Sampler(threading.Thread):
    """Polls the WAL file size while a workload runs."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server = server
        self.stop_flag = threading.Event()
        self.peak_wal = server.wal_bytes()

    def run(self) -> None:
        while not self.stop_flag.wait(0.1):
            self.peak_wal = max(self.peak_wal, self.server.wal_bytes())


def wrk_request(server: Server, w: Workload, scratch: Path) -> list[str]:
    """bench.lua's arguments for one request shape: METHOD PATH BODY_FILE IDS_FILE HEADER…"""
    body_file = ids_file = "-"
    headers = []
    if w.body is not None:
        body_path = scratch / f"{server.name}-{w.key}.json"
        body_path.write_text(json.dumps(w.body(server)))
        body_file = str(body_path)
    if w.raw_body is not None:
        data, content_type = w.raw_body(server)
        body_path = scratch / f"{server.name}-{w.key}.body"
        body_path.write_bytes(data)
        body_file = str(body_path)
        headers.append(f"Content-Type: {content_type}")
    if w.cycle_ids:
        ids_path = scratch / f"{server.name}-ids.txt"
        if not ids_path.exists():
            ids_path.write_text("\n".join(server.ids) + "\n")
        ids_file = str(ids_path)
    if w.auth:
        headers.append(f"Authorization: {server.auth_prefix}{server.user_token}")
    return [w.method, w.path(server), body_file, ids_file, *headers]


def run_wrk(server: Server, w: Workload, duration: float, scratch: Path) -> Result:
    """Runs wrk against `server` and measures the server process around it."""
    scratch.mkdir(parents=True, exist_ok=True)
    requests = wrk_request(server, w, scratch)
    if w.mix is not None:
        requests += ["+", str(w.mix_every), *wrk_request(server, w.mix, scratch)]
    secs = max(1, round(duration))
    cmd = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{secs}s",
           "--timeout", "10s", "-s", str(LUA), server.base, "--", *requests]

    server.reset_peak_rss()
    sampler = Sampler(server)
    cpu0 = server.cpu_seconds()
    sampler.start()
    done = subprocess.run(cmd, capture_output=True, text=True)
    sampler.stop_flag.set()
    sampler.join()
    cpu1 = server.cpu_seconds()
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({' '.join(cmd)}):\n{done.stdout}\n{done.stderr}")
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    requests = raw["requests"]
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors",
                                  "status_errors", "timeouts"))
    return Result(
        server=server.name,
        workload=w.key,
        requests=requests,
        rps=requests / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        cpu_per_1k=(cpu1 - cpu0) / requests * 1000 if requests else 0.0,
        peak_rss_mib=server.peak_rss_kib() / 1024,
        peak_wal_mib=sampler.peak_wal / 2**20,
        errors=errors,
        raw=raw,
    )


def prepare(server: Server, w: Workload, index_state: dict) -> None:
    """Turns the rating index on or off when the workload asks for it."""
    if w.index is None or index_state.get(server.name) == w.index:
        return
    server.set_rating_index(w.index)
    index_state[server.name] = w.index
    time.sleep(0.2)


def smoke_check(server: Server, w: Workload) -> None:
    """One request by hand first, so a wrong path or body fails loudly, not as 0 req/s."""
    for one in w.requests():
        path = one.path(server).replace("{id}", server.ids[0] if server.ids else "")
        token = server.user_token if one.auth else None
        expect(http(one.method, server.base + path, one.body(server) if one.body else None,
                    token, server.auth_prefix), {200, 201}, f"{server.name} {one.key}")

