"""Load benchmark: the registry's pages under wrk against a bare Flask endpoint, at province size.

Builds the province-size register of bench/compliance.py (3,000 homes, 60,000 medical
institutions, 9,000 agreements) in a PostgreSQL database of its own, serves the app with
gunicorn on 127.0.0.1, logs in once as a city-level health user, and drives with `wrk`
(32 connections, 2 threads, 60 s each):

- the compliance dashboard `/compliance`,
- a filtered list `/homes?region=440902&status=operating&sort=beds_total&descending=1`,
- a home's record page `/institutions/<id>`,
- a save: `POST /training/new` (a new training record, with the form's CSRF token),
- the baseline: a bare Flask app (same worker count, same database) whose one route runs
  `SELECT id, name FROM institutions WHERE code = :code`.

It prints requests/s, p50/p95/p99 latency and errors for each (plain text, then markdown),
the ratio of each p95 to the baseline's, where the CPU went during each run, one unloaded
request of each page timed in-process (statements and SQL time), and what limits it.
Progress goes to stderr, the tables to stdout.

    .venv/bin/python bench/load.py [--duration 60] [--connections 32] [--threads 2]
        [--workers N] [--only dashboard,list,record,save,baseline] [--keep] [--profile]
        [--mixed [--writers training,home,agreement]] [--cache-redis redis://HOST:PORT/DB]
        [--database bench_load]

`--mixed` runs each page (dashboard, list, record) without writes and then beside each writer,
one save a second from another logged-in user: a training record (moves today's 培训 figure),
a new home opened today, and an agreement ending today (both move the dashboard's shares). It
prints the runs side by side: throughput and p95 with writes as ratios of those without (the
mean of a run alone before the writers and one after; the aim of issue 14: ≥ 0.67 and ≤ 1.5×).
`--cache-redis` serves the app with CACHE_REDIS_URL set (the compliance reports shared by the
workers); without it each worker keeps its own.

Needs `wrk` (`apt-get install wrk`). PostgreSQL: the database `bench_load` is created here
(an old one is dropped first) and dropped at the end unless `--keep`; nothing else is
touched. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib.util
import io
import json
import os
import pstats
import random
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _import_compliance_bench():
    """bench/compliance.py as a module (its generator and loader are reused, not copied)."""
    spec = importlib.util.spec_from_file_location("bench_compliance", Path(__file__).with_name("compliance.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


province_bench = _import_compliance_bench()

from _common import (  # noqa: E402
    PG_SERVER,
    ScratchDatabase,
    comma_list,
    elapsed,
    load_average,
    print_table,
    progress,
    run_time,
)
from sqlalchemy import event, func, select, text  # noqa: E402

from registry import create_app  # noqa: E402
from registry.extensions import db  # noqa: E402
from registry.models import Agreement, Institution, Region  # noqa: E402
from registry.services import users  # noqa: E402
from registry.vocab import ADMIN, ELDERCARE, HEALTH  # noqa: E402

PG_DATABASE = "bench_load"
WRITER = "bench-load-admin"  # --mixed: the writers' user (city-level administrator: homes and agreements)
CACHE_PREFIX = "bench-load:"  # --cache-redis: the app's key prefix, whose keys are removed before and after
AIM_MIXED_RPS, AIM_MIXED_P95 = 0.67, 1.5  # issue 14: with writes, ≥ 0.67 of the throughput, p95 ≤ 1.5×
REGISTRY_ZONE = "Asia/Shanghai"
SIZE = province_bench.SIZES["province"]
USERNAME = "bench-load-weijian"
USER_AGENT = "bench-load/1 (wrk)"  # the same for login and wrk: Flask-Login's "strong" protection
AIM_P95_MS = 200.0
LIST_REGION = "440902"
BASELINE_SQL = "SELECT id, name FROM institutions WHERE code = :code"
UNLOADED_RUNS = 5

BASELINE_APP = '''\
"""A bare Flask app: one route, one indexed query (written by bench/load.py)."""

import os

from flask import Flask, abort, request
from sqlalchemy import create_engine, text

# As registry.config.engine_options: pre-ping on checkout, JIT off.
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True,
                       connect_args={"options": "-c jit=off"})
QUERY = text(__QUERY__)
app = Flask(__name__)


@app.route("/one")
def one():
    with engine.connect() as connection:
        row = connection.execute(QUERY, {"code": request.args.get("code", "")}).first()
    if row is None:
        abort(404)
    return {"id": row.id, "name": row.name}
'''.replace("__QUERY__", repr(BASELINE_SQL))

# wrk script: method, body and expected statuses per endpoint; statuses >= 400 and any other
# unexpected status (a page redirected to the login, a save whose form came back) are counted
# per thread and reported by done() as one JSON line.
LUA = """\
wrk.method = "{method}"
{body}
local expected = {{{expected}}}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  codes = {{}}
end

function response(status, headers, body)
  local key = tostring(status)
  if expected[status] then
    local location = headers["Location"] or headers["location"]
    if not (location and string.find(location, "/login", 1, true)) then
      return
    end
    key = key .. " to /login"  -- the session was refused
  end
  codes[key] = (codes[key] or 0) + 1
end

function done(summary, latency, requests)
  local codes_all = {{}}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("codes")) do
      codes_all[status] = (codes_all[status] or 0) + count
    end
  end
  local parts = {{}}
  for status, count in pairs(codes_all) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  io.write(string.format(
    'WRK-RESULT {{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "status_ge_400": %d, "unexpected": {{%s}}}}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.errors.status, table.concat(parts, ", ")))
end
"""


# --- the database ---------------------------------------------------------------------------


def backend_pids(database: ScratchDatabase) -> list[int]:
    """Server processes of connections to the benchmark's database (the app's and the baseline's)."""
    with database.admin.connect() as connection:
        return list(connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :name"), {"name": database.name}
        ).scalars())


@dataclass
class Fixture:
    """What the runs need from the loaded register."""

    home_id: int
    home_agreements: int
    baseline_code: str
    counts: dict[str, int]
    password: str
    writer_password: str


def build(url: str, secret_key: str, seed: str) -> Fixture:
    """Migrate and seed with `registry init`, load the province register, add the benchmark user."""
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": secret_key}
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and the app's CLI
        [sys.executable, "-m", "flask", "--app", "wsgi", "registry", "init"],
        cwd=ROOT, env=env, check=True,
    )
    progress(f"  schema by migrations + seeds in {time.perf_counter() - started:.1f} s")
    app = create_app({"SECRET_KEY": secret_key, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        try:
            regions = [r.code for r in db.session.scalars(select(Region).order_by(Region.position))]
            started = time.perf_counter()
            plan = province_bench.Plan(SIZE, regions, random.Random(f"{seed}-{SIZE.name}"))  # noqa: S311
            counts = province_bench.load(plan, use_copy=True)
            province_bench.analyse("postgresql")
            progress(f"  province register loaded and analysed in {time.perf_counter() - started:.1f} s: "
                     + ", ".join(f"{v:,} {k}" for k, v in counts.items()))

            password = "Bench-" + secrets.token_urlsafe(18)
            users.create(USERNAME, password, HEALTH, None, full_name="【基准】压测卫健用户",
                         must_change_password=False)
            writer_password = "Bench-" + secrets.token_urlsafe(18)
            users.create(WRITER, writer_password, ADMIN, None, full_name="【基准】压测写入用户",
                         must_change_password=False)
            db.session.commit()

            # The record page: an operating home of the listed district with the most agreements.
            agreements = func.count(Agreement.id)
            home_id, home_agreements = db.session.execute(
                select(Institution.id, agreements)
                .join(Agreement, Agreement.eldercare_id == Institution.id)
                .where(Institution.kind == ELDERCARE, Institution.closed_on.is_(None),
                       Institution.region_code == LIST_REGION)
                .group_by(Institution.id).order_by(agreements.desc(), Institution.id).limit(1)
            ).one()
            # The baseline looks up a medical institution in the middle of the table.
            baseline_code = db.session.scalar(
                select(Institution.code).order_by(Institution.id).offset(counts["institutions"] // 2).limit(1)
            )
        finally:
            db.session.remove()
            db.engine.dispose()
    return Fixture(home_id, home_agreements, baseline_code, counts, password, writer_password)


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_binary() -> str:
    beside = Path(sys.executable).parent / "gunicorn"
    found = str(beside) if beside.exists() else shutil.which("gunicorn")
    if not found:
        raise SystemExit("gunicorn is not installed in this environment (pip install gunicorn)")
    return found


class Server:
    """A gunicorn (sync workers) on 127.0.0.1 at a free port, stopped by its own pid."""

    def __init__(self, name: str, app: str, workers: int, env: dict[str, str], log: Path,
                 chdir: Path = ROOT, health: str = "/healthz"):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.health = health
        self.log = log
        command = [gunicorn_binary(), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                   "--chdir", str(chdir), app]
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=chdir, env=env, stdout=out,  # noqa: S603
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + health, timeout=5).status_code == 200:
                    break
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} server did not come up ({health}); its log:\n"
                                   + log.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        progress(f"  {name}: gunicorn -w {workers} on {self.base} (pid {self.process.pid})")

    def drain(self, quick_ms: float = 100.0, deadline_s: float = 600.0) -> float:
        """Wait until requests queued by the last run are served: two quick answers in a row.

        wrk closes its connections at the end, but the sync workers still serve every request
        already in the listen queue; the next run must not start behind them. Returns seconds waited.
        """
        started = time.monotonic()
        quick = 0
        while quick < 2 and time.monotonic() - started < deadline_s:
            sent = time.perf_counter()
            with contextlib.suppress(requests.RequestException):
                requests.get(self.base + self.health, timeout=deadline_s)
            quick = quick + 1 if (time.perf_counter() - sent) * 1000 < quick_ms else 0
            if not quick:
                time.sleep(0.2)
        return time.monotonic() - started

    def pids(self) -> list[int]:
        """The master and its workers."""
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn: graceful shutdown of the workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- logging in -----------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise RuntimeError("no csrf_token in the form")
    return found.group(1)


@dataclass
class Login:
    cookie: str  # the value of the `session` cookie
    save_token: str  # the CSRF token of the training form (tied to that session, no time limit)


def log_in(base: str, password: str, username: str = USERNAME) -> Login:
    """Log in once through the login form; then open the training form for its CSRF token."""
    with requests.Session() as http:
        http.headers["User-Agent"] = USER_AGENT
        page = http.get(base + "/login", timeout=30)
        page.raise_for_status()
        answer = http.post(base + "/login", data={
            "csrf_token": csrf_token(page.text), "username": username, "password": password,
        }, allow_redirects=False, timeout=30)
        if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
            raise RuntimeError(f"login failed: {answer.status_code}")
        form = http.get(base + "/training/new", timeout=30)  # stores the CSRF secret in the session
        form.raise_for_status()
        token = csrf_token(form.text)
        cookie = http.cookies.get("session")
    # The cookie alone (as wrk sends it) must open a logged-in page.
    check = requests.get(base + "/compliance", headers=_headers(cookie), allow_redirects=False, timeout=120)
    if check.status_code != 200:
        raise RuntimeError(f"the session cookie does not open /compliance: {check.status_code}")
    return Login(cookie, token)


def check_save(base: str, login: Login, endpoint: Endpoint) -> None:
    """One save as wrk will send it (cookie, token, body) must be accepted: a redirect to the list."""
    answer = requests.post(base + endpoint.path, data=endpoint.body(login.save_token),
                           headers=_headers(login.cookie) | {"Content-Type": "application/x-www-form-urlencoded"},
                           allow_redirects=False, timeout=60)
    if answer.status_code not in endpoint.expected or "/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"the save answers {answer.status_code} {answer.headers.get('Location', '')}, "
                           f"not {endpoint.expected}")


def _headers(cookie: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    return headers


# --- endpoints ------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    label: str
    server: str  # "app" or "baseline"
    path: str
    method: str = "GET"
    form: dict[str, str] | None = None  # a POST's fields, without the CSRF token
    expected: tuple[int, ...] = (200,)
    page: bool = True  # the 200 ms p95 aim applies

    def body(self, token: str) -> str:
        from urllib.parse import urlencode

        return urlencode(self.form | {"csrf_token": token}) if self.form else ""


def endpoints(fixture: Fixture) -> list[Endpoint]:
    training = {
        "version": "", "held_on": registry_today().isoformat(), "organiser": "【基准】压测培训",
        "region_code": LIST_REGION, "medical_nursing": "3", "caregivers": "5", "note": "bench/load.py",
    }
    return [
        Endpoint("baseline", "baseline: bare Flask, one indexed query", "baseline",
                 f"/one?code={fixture.baseline_code}", page=False),
        Endpoint("dashboard", "dashboard /compliance", "app", "/compliance"),
        Endpoint("list", "filtered list /homes", "app",
                 f"/homes?region={LIST_REGION}&status=operating&sort=beds_total&descending=1"),
        Endpoint("record", f"record page /institutions/{fixture.home_id}", "app",
                 f"/institutions/{fixture.home_id}"),
        Endpoint("save", "save POST /training/new", "app", "/training/new", method="POST", form=training,
                 expected=(302,), page=False),
    ]


def lua_script(endpoint: Endpoint, token: str) -> str:
    body = ""
    if endpoint.form:
        body = (f"wrk.body = [==[{endpoint.body(token)}]==]\n"
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
    expected = ", ".join(f"[{s}] = true" for s in endpoint.expected)
    return LUA.format(method=endpoint.method, body=body, expected=expected)


# --- CPU accounting -------------------------------------------------------------------------

HZ = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest times (already in user)
    return total - idle, total


def _children_seconds() -> float:
    """CPU seconds of this process's children that have ended (wrk, top)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_ticks(pid: int) -> int:
    """utime + stime of one process, 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


class CpuMeter:
    """Where the CPU went during a run: the machine, and each group of processes, in cores."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]):
        self.groups = groups

    def start(self) -> CpuMeter:
        self.wall = time.monotonic()
        self.machine = _machine_ticks()
        self.start = {name: {pid: _process_ticks(pid) for pid in pids()} for name, pids in self.groups.items()}
        return self

    def stop(self, extra: dict[str, float] | None = None) -> dict[str, float]:
        """Cores used by each group (and by `extra`, CPU seconds measured elsewhere) since start()."""
        wall = time.monotonic() - self.wall
        busy, total = _machine_ticks()
        cores = os.cpu_count() or 1
        result = {"machine_busy": (busy - self.machine[0]) / max(1, total - self.machine[1]), "cores": cores}
        used = 0.0
        for name, pids in self.groups.items():
            before = self.start[name]
            ticks = sum(_process_ticks(pid) - before.get(pid, 0) for pid in set(pids()) | set(before))
            result[name] = max(0.0, ticks / HZ / wall)
            used += result[name]
        for name, seconds in (extra or {}).items():
            result[name] = seconds / wall
            used += result[name]
        result["other"] = max(0.0, result["machine_busy"] * cores - used)
        result["loadavg"] = load_average()
        return result


# --- one wrk run ----------------------------------------------------------------------------


@dataclass
class Run:
    endpoint: Endpoint
    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    mean: float
    socket_errors: dict[str, int]
    status_ge_400: int
    unexpected: dict[str, int]
    cpu: dict[str, float]
    top: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        """Requests that failed: a socket error or timeout, or any status but the expected ones."""
        return sum(self.socket_errors.values()) + sum(self.unexpected.values())

    def error_detail(self) -> str:
        parts = [f"{k} {v}" for k, v in self.socket_errors.items() if v]
        parts += [f"HTTP {k} ×{v}" for k, v in sorted(self.unexpected.items())]
        return ", ".join(parts)


def run_wrk(endpoint: Endpoint, base: str, login: Login | None, args: argparse.Namespace, folder: Path,
            meter_groups: dict[str, Callable[[], list[int]]]) -> Run:
    script = folder / f"{endpoint.key}.lua"
    script.write_text(lua_script(endpoint, login.save_token if login else ""))
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
               "--timeout", f"{args.timeout}s", "--latency", "-s", str(script)]
    for name, value in _headers(login.cookie if login else None).items():
        command += ["-H", f"{name}: {value}"]
    command.append(base + endpoint.path)
    progress(f"wrk {endpoint.key}: {args.connections} connections, {args.threads} threads, "
             f"{args.duration} s → {endpoint.method} {endpoint.path[:80]}")
    children = _children_seconds()  # wrk is reaped before the meter stops: counted from its rusage
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    try:
        meter = CpuMeter(meter_groups).start()
        time.sleep(args.duration / 2)
        top = ""
        if shutil.which("top"):
            before_top = _children_seconds()
            shot = subprocess.run(["top", "-b", "-n", "1", "-w", "150"],  # noqa: S607
                                  capture_output=True, text=True, check=False).stdout
            top = "\n".join(shot.splitlines()[:16])
            children += _children_seconds() - before_top
        out, err = wrk.communicate()
        cpu = meter.stop(extra={"wrk": _children_seconds() - children})
    finally:
        if wrk.poll() is None:  # interrupted: stop our wrk
            wrk.terminate()
            wrk.wait()
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed ({wrk.returncode}): {err}\n{out}")
    line = next((x for x in out.splitlines() if x.startswith("WRK-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"no result line from wrk:\n{out}\n{err}")
    data = json.loads(line.removeprefix("WRK-RESULT "))
    progress("  " + " | ".join(x.strip() for x in out.splitlines()
                               if x.strip().startswith(("Requests/sec", "50%", "99%", "Non-2xx", "Socket"))))
    return Run(
        endpoint, data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1000, data["p95_us"] / 1000,
        data["p99_us"] / 1000, data["mean_us"] / 1000,
        {k: data[k] for k in ("connect", "read", "write", "timeout")}, data["status_ge_400"],
        data["unexpected"], cpu, top,
    )


# --- one unloaded request, in-process -------------------------------------------------------


@dataclass
class Unloaded:
    """One request of an endpoint through the app in-process, no other load (median of runs)."""

    key: str
    ms: float
    statements: int
    sql_ms: float
    slowest: list[tuple[float, int, str]] = field(default_factory=list)  # (ms in all, times, SQL)
    hot: list[tuple[float, int, str]] = field(default_factory=list)  # (cumulative ms, calls, app function)
    profile: str = ""


@contextlib.contextmanager
def statement_timer(engine) -> Iterator[list[tuple[str, float]]]:
    """Every statement `engine` runs meanwhile, with its milliseconds."""
    timings: list[tuple[str, float]] = []

    def before(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        started = conn.info["bench_started"].pop()
        timings.append((statement, (time.perf_counter() - started) * 1000))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield timings
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def hot_spots(stats: pstats.Stats, count: int = 6) -> list[tuple[float, int, str]]:
    """The app's own functions and templates with the most cumulative time in a profile."""
    mine = (str(ROOT / "registry"), str(ROOT / "templates"))
    found = [
        (cumulative * 1000, calls, f"{Path(filename).relative_to(ROOT)}:{line}({name})")
        for (filename, line, name), (_primitive, calls, _own, cumulative, _callers) in stats.stats.items()
        if filename.startswith(mine)
    ]
    return sorted(found, reverse=True)[:count]


def logged_in_client(app, username: str, password: str):
    """A test client logged in through the form, and its CSRF token (the training form's)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    page = client.get("/login").get_data(as_text=True)
    answer = client.post("/login", data={"csrf_token": csrf_token(page), "username": username,
                                         "password": password})
    assert answer.status_code == 302, answer.status_code
    return client, csrf_token(client.get("/training/new").get_data(as_text=True))


def unloaded(url: str, secret_key: str, password: str, chosen: list[Endpoint],
             profile_keys: set[str]) -> dict[str, Unloaded]:
    """Each app endpoint once for warm-up, then UNLOADED_RUNS times: median wall time, statements.

    The test client runs outside any app context of ours, so each request gets its own (and its
    own `g`), as under gunicorn.
    """
    app = create_app({"SECRET_KEY": secret_key, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        engine = db.engine
    results: dict[str, Unloaded] = {}
    try:
        client, token = logged_in_client(app, USERNAME, password)
        for endpoint in chosen:
            if endpoint.server != "app":
                continue

            def request(endpoint=endpoint) -> None:
                data = endpoint.form | {"csrf_token": token} if endpoint.form else None
                response = client.open(endpoint.path, method=endpoint.method, data=data)
                assert response.status_code in endpoint.expected, (endpoint.key, response.status_code)

            request()
            samples = []
            for _ in range(UNLOADED_RUNS):
                with statement_timer(engine) as timings:
                    started = time.perf_counter()
                    request()
                    elapsed = (time.perf_counter() - started) * 1000
                samples.append((elapsed, timings))
            samples.sort(key=lambda s: s[0])
            elapsed, timings = samples[len(samples) // 2]
            grouped: dict[str, list[float]] = {}
            for statement, ms in timings:
                grouped.setdefault(" ".join(statement.split()), []).append(ms)
            slowest = sorted(((sum(v), len(v), k) for k, v in grouped.items()), reverse=True)[:5]
            result = Unloaded(endpoint.key, elapsed, len(timings), sum(ms for _, ms in timings), slowest)
            if endpoint.key in profile_keys:
                profiler = cProfile.Profile()
                profiler.enable()
                request()
                profiler.disable()
                buffer = io.StringIO()
                stats = pstats.Stats(profiler, stream=buffer)
                stats.sort_stats("cumulative").print_stats(30)
                result.profile = buffer.getvalue()
                result.hot = hot_spots(stats)
            results[endpoint.key] = result
    finally:
        engine.dispose()
    return results


# --- report ---------------------------------------------------------------------------------

HEADERS = ("endpoint", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "p95 / baseline", "aim p95 < 200 ms")


def _cells(run: Run, baseline_p95: float | None) -> list[str]:
    ratio = f"{run.p95 / baseline_p95:.1f}×" if baseline_p95 else "—"
    aim = ("yes" if run.p95 < AIM_P95_MS else "NO") if run.endpoint.page else "—"
    return [run.endpoint.label, f"{run.rps:,.1f}", f"{run.p50:,.1f}", f"{run.p95:,.1f}", f"{run.p99:,.1f}",
            str(run.errors), ratio, aim]


def cpu_ms(run: Run) -> float:
    """CPU milliseconds per request: app workers, PostgreSQL and wrk together."""
    spent = run.cpu["gunicorn"] + run.cpu["postgres"] + run.cpu["wrk"]
    return spent / run.rps * 1000 if run.rps else float("inf")


def floor_ms(run: Run, connections: int) -> float:
    """The mean latency a closed loop of `connections` cannot beat when CPU is what runs out.

    Each connection waits for every request ahead of it: throughput ≤ cores / CPU per request,
    so latency = connections / throughput ≥ connections × CPU per request / cores (the cores
    other processes left over, during the run).
    """
    cores = max(0.1, run.cpu["cores"] - run.cpu["other"])
    return connections * cpu_ms(run) / cores


def limit_line(run: Run, quiet: Unloaded | None, args: argparse.Namespace) -> str:
    """What limits one endpoint, from the CPU split and Little's law."""
    cpu = run.cpu
    cores = int(cpu["cores"])
    split = (f"gunicorn {cpu['gunicorn']:.2f}, PostgreSQL {cpu['postgres']:.2f}, wrk {cpu['wrk']:.2f}, "
             f"other processes {cpu['other']:.2f} cores")
    if cpu["machine_busy"] >= 0.9:
        verdict = f"CPU: the {cores} cores {cpu['machine_busy']:.0%} busy"
    elif cpu["machine_busy"] >= 0.7:
        verdict = f"mostly CPU: the {cores} cores {cpu['machine_busy']:.0%} busy"
    else:
        verdict = (f"not CPU ({cpu['machine_busy']:.0%} busy): requests wait for the {args.workers} sync "
                   "workers or the database")
    line = (f"{run.endpoint.key}: {verdict} ({split}); {cpu_ms(run):.1f} ms of CPU per request, so "
            f"{args.connections} connections queue ≥ {floor_ms(run, args.connections):,.0f} ms each "
            f"(measured mean {run.mean:,.0f} ms, {args.connections} / {run.rps:,.1f} req/s = "
            f"{args.connections / run.rps * 1000 if run.rps else float('inf'):,.0f} ms)")
    if quiet:
        line += (f"; alone one request takes {quiet.ms:.1f} ms ({quiet.statements} statements, "
                 f"{quiet.sql_ms:.1f} ms of SQL, {quiet.ms - quiet.sql_ms:.1f} ms of Python)")
    if cpu["other"] >= 0.25:
        line += (f". Other processes took {cpu['other']:.2f} of the {cores} cores meanwhile: "
                 "these figures are worse than the machine alone would give")
    return line


def report(runs: list[Run], quiet: dict[str, Unloaded], fixture: Fixture, args: argparse.Namespace,
           background: float, total_s: float) -> None:
    baseline = next((r for r in runs if r.endpoint.key == "baseline"), None)
    base_p95 = baseline.p95 if baseline else None
    print(f"Load at province size ({fixture.counts['institutions']:,} institutions, "
          f"{fixture.counts['agreements']:,} agreements) on PostgreSQL; gunicorn -w {args.workers} "
          f"(sync) on 127.0.0.1; wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency "
          f"per endpoint, on {os.cpu_count()} cores shared by wrk, gunicorn and PostgreSQL.")
    print(f"Errors: socket errors, timeouts (> {args.timeout} s) and any status but the expected one "
          "(200; the save 302); the aim: p95 < 200 ms for the pages and the dashboard.")
    print(f"Before the runs, other processes kept {background:.2f} of the {os.cpu_count()} cores busy.")
    print()
    print_table(HEADERS, [_cells(r, base_p95) for r in runs], {1, 2, 3, 4, 5, 6})
    detail = [f"  {r.endpoint.key}: {r.error_detail()}" for r in runs if r.errors]
    print("errors: " + ("none" if not detail else "\n" + "\n".join(detail)))
    print()

    print(f"CPU during each run, in cores (the machine has {os.cpu_count()}; gunicorn = both servers' "
          "processes, PostgreSQL = the backends of this database, other = other processes and the kernel); "
          f"floor = {args.connections} × CPU per request ÷ (cores − other), the mean latency a closed "
          "loop cannot beat:")
    print()
    cpu_headers = ("endpoint", "machine busy", "gunicorn", "PostgreSQL", "wrk", "other", "CPU ms/request",
                   "floor ms", "load avg")
    print_table(cpu_headers, [[r.endpoint.key, f"{r.cpu['machine_busy']:.0%}", f"{r.cpu['gunicorn']:.2f}",
                               f"{r.cpu['postgres']:.2f}", f"{r.cpu['wrk']:.2f}", f"{r.cpu['other']:.2f}",
                               f"{cpu_ms(r):,.1f}", f"{floor_ms(r, args.connections):,.0f}",
                               f"{r.cpu['loadavg']:.1f}"] for r in runs], set(range(1, 9)))

    if quiet:
        print(f"One request at a time, in-process through the test client (median of {UNLOADED_RUNS}):")
        print()
        print_table(("endpoint", "ms", "statements", "SQL ms", "Python ms"),
                    [[q.key, f"{q.ms:.1f}", str(q.statements), f"{q.sql_ms:.1f}", f"{q.ms - q.sql_ms:.1f}"]
                     for q in quiet.values()], {1, 2, 3, 4})
        for q in quiet.values():
            run = next((r for r in runs if r.endpoint.key == q.key), None)
            if run is None or not run.endpoint.page or run.p95 < AIM_P95_MS:
                continue
            print(f"{q.key} misses the aim; its costliest statements (ms summed over repeats, times run):")
            for ms, times, statement in q.slowest:
                print(f"  {ms:8.1f} ms  ×{times:<3d} {textwrap.shorten(statement, 150)}")
            if q.hot:
                print("  and the app's functions taking the most time in one request (cProfile, cumulative; "
                      "profiling slows Python down):")
                for ms, calls, where in q.hot:
                    print(f"  {ms:8.1f} ms  ×{calls:<3d} {where}")
            print()

    print("What limits it:")
    for run in runs:
        print("- " + limit_line(run, quiet.get(run.endpoint.key), args))
    cores = os.cpu_count() or 1
    budget = AIM_P95_MS * cores / args.connections
    print(f"- At {args.connections} connections on {cores} cores, wrk keeps every connection busy, so a "
          f"request waits for the ones ahead of it: p95 < {AIM_P95_MS:.0f} ms needs well under "
          f"{budget:.1f} ms of CPU per request in all (app + PostgreSQL + wrk)"
          + (f"; the baseline needs {cpu_ms(baseline):.1f} ms." if baseline else "."))
    print()
    print(run_time(total_s))


# --- under writes (--mixed) ----------------------------------------------------------------

WRITERS = ("training", "home", "agreement")


def registry_today() -> date:
    """The registry's day (Maoming's), whatever zone this machine keeps: a save dated today is dated so."""
    return datetime.now(ZoneInfo(REGISTRY_ZONE)).date()


class Writer(threading.Thread):
    """One save a second beside a wrk run, from another user's session: what a register in use sees.

    `training`: a training record held today (moves today's 培训 figure); `home`: a home opened
    today in the listed district (moves the 签约率 denominators); `agreement`: an agreement of
    another home ends today (moves its numerators). Each save must answer 302 to a page, not the form.
    """

    def __init__(self, kind: str, base: str, login: Login, agreements: list[tuple[int, int]]):
        super().__init__(daemon=True)
        self.kind, self.base, self.login, self.agreements = kind, base, login, agreements
        self.stopped, self.lock = threading.Event(), threading.Lock()
        self.saved, self.failed, self.seconds = 0, 0, 0.0

    def _request(self) -> tuple[str, dict[str, str]]:
        today, number = registry_today().isoformat(), secrets.token_hex(4)
        if self.kind == "training":
            return "/training/new", {"version": "", "held_on": today, "organiser": f"【基准】写入培训{number}",
                                     "region_code": LIST_REGION, "medical_nursing": "3", "caregivers": "5",
                                     "note": "bench/load.py --mixed"}
        if self.kind == "home":
            return "/institutions/new?kind=eldercare", {
                "name": f"【基准】写入养老院{number}", "uscc": "", "region_code": LIST_REGION, "address": "",
                "lat": "", "lon": "", "ownership": "", "opened_on": today, "filing_no": "", "host_code": "",
                "beds_total": "50", "beds_nursing": "", "rating": ""}
        agreement_id, version = self.agreements.pop()
        return f"/agreements/{agreement_id}/terminate", {"terminated_on": today, "version": str(version)}

    def run(self) -> None:
        """A save each second on the clock, each in a thread of its own: a slow save does not delay the next."""
        due, saves = time.monotonic(), []
        while not self.stopped.wait(max(0.0, due - time.monotonic())):
            saves.append(threading.Thread(target=self._save, args=self._request(), daemon=True))
            saves[-1].start()
            due += 1.0
        for save in saves:
            save.join()

    def _save(self, path: str, form: dict[str, str]) -> None:
        started = time.perf_counter()
        try:
            answer = requests.post(self.base + path, data=form | {"csrf_token": self.login.save_token},
                                   headers=_headers(self.login.cookie), allow_redirects=False, timeout=60)
            ok = answer.status_code == 302 and "/login" not in answer.headers.get("Location", "")
        except requests.RequestException:
            ok = False
        with self.lock:
            self.seconds += time.perf_counter() - started
            self.saved, self.failed = self.saved + ok, self.failed + (not ok)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def agreements_to_end(url: str, spared_home: int, count: int) -> list[tuple[int, int]]:
    """(id, version) of agreements in force today, none of the record page's home: the writer ends them."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        try:
            return [tuple(row) for row in db.session.execute(
                select(Agreement.id, Agreement.version)
                .where(Agreement.in_force_on(registry_today()), Agreement.eldercare_id != spared_home)
                .order_by(Agreement.id).limit(count))]
        finally:
            db.session.remove()
            db.engine.dispose()


def view_costs(url: str, secret_key: str, fixture: Fixture, cache_redis: str,
               agreements: list[tuple[int, int]]) -> list[tuple[str, float, float]]:
    """One dashboard view in-process, no load: cached, and after each writer's save (one of them back-dated).

    (label, median ms, statements) of UNLOADED_RUNS views, each after its own save: the cost a
    write puts on the next view of each worker (each server, with --cache-redis), which the runs
    under load spread over. A home opened in 2018 moves every day shown and every indicator but
    培训: about what any save cost before saves carried the first day and the tables they affect.
    """
    config = {"SECRET_KEY": secret_key, "SQLALCHEMY_DATABASE_URI": url}
    if cache_redis:
        config |= {"CACHE_REDIS_URL": cache_redis, "CACHE_KEY_PREFIX": CACHE_PREFIX}
    app = create_app(config)
    with app.app_context():
        engine = db.engine
    reader, _token = logged_in_client(app, USERNAME, fixture.password)
    writer, token = logged_in_client(app, WRITER, fixture.writer_password)

    def save(kind: str, **changes: str) -> Callable[[], None]:
        def send() -> None:
            path, form = Writer(kind, "", Login("", ""), agreements)._request()
            answer = writer.post(path, data=form | changes | {"csrf_token": token})
            assert answer.status_code == 302, (kind, answer.status_code)
        return send

    def timed(before: Callable[[], None] | None) -> tuple[float, float]:
        samples = []
        for _ in range(UNLOADED_RUNS):
            if before:
                before()
            with statement_timer(engine) as timings:
                started = time.perf_counter()
                assert reader.get("/compliance").status_code == 200
                samples.append(((time.perf_counter() - started) * 1000, len(timings)))
        samples.sort()
        return samples[len(samples) // 2]

    try:
        reader.get("/compliance")
        return [("cached (no write since the last view)", *timed(None)),
                ("after a training record held today", *timed(save("training"))),
                ("after a home opened today", *timed(save("home"))),
                ("after an agreement ended today", *timed(save("agreement"))),
                ("after a home opened in 2018 (every day shown)", *timed(save("home", opened_on="2018-06-30")))]
    finally:
        engine.dispose()


@dataclass
class MixedRun:
    run: Run
    writer: str  # "" for the run without writes
    saved: int = 0
    failed: int = 0
    save_ms: float = 0.0


def run_mixed(app: Server, login: Login, writer_login: Login, pages: list[Endpoint], args: argparse.Namespace,
              folder: Path, groups: dict[str, Callable[[], list[int]]],
              agreements: list[tuple[int, int]]) -> list[MixedRun]:
    """Each page alone, beside each writer, and alone again (the machine drifts); drained between runs."""
    runs = []
    for endpoint in pages:
        for kind in ("", *args.writers, ""):
            writer = Writer(kind, app.base, writer_login, agreements) if kind else None
            if writer:
                progress(f"  beside it: one {kind} save a second")
                writer.start()
            try:
                run = run_wrk(endpoint, app.base, login, args, folder, groups)
            finally:
                if writer:
                    writer.stop()
            done = MixedRun(run, kind)
            if writer:
                done.saved, done.failed = writer.saved, writer.failed
                done.save_ms = writer.seconds / max(1, writer.saved + writer.failed) * 1000
            runs.append(done)
            progress(f"  {run.rps:,.1f} req/s, p95 {run.p95:,.1f} ms"
                     + (f"; {done.saved} saves, {done.failed} failed" if writer else ""))
            progress(f"  {app.name} drained its queue in {app.drain():.1f} s")
    return runs


MIXED_HEADERS = ("page", "writes beside it", "req/s", "p50 ms", "p95 ms", "errors", "saves ok/failed",
                 "save ms", "req/s ÷ alone", "p95 ÷ alone", "aim ≥ 0.67 and ≤ 1.5×")  # alone: both runs' mean


def report_mixed(runs: list[MixedRun], costs: list[tuple[str, float, float]], fixture: Fixture,
                 args: argparse.Namespace, background: float, total_s: float) -> None:
    cache = "shared in Redis (CACHE_REDIS_URL)" if args.cache_redis else "each worker its own (in-process)"
    print(f"Pages under writes at province size ({fixture.counts['institutions']:,} institutions, "
          f"{fixture.counts['agreements']:,} agreements) on PostgreSQL; gunicorn -w {args.workers} (sync); "
          f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s per run, each page first alone, "
          f"then beside one save a second; compliance reports: {cache}.")
    print(f"Before the runs, other processes kept {background:.2f} of the {os.cpu_count()} cores busy.")
    print()
    rows, drift = [], []
    for done in runs:
        run = done.run
        alone = [m.run for m in runs if m.run.endpoint.key == run.endpoint.key and not m.writer]
        if run is alone[0] and len(alone) > 1:
            drift.append(f"{run.endpoint.key} {alone[1].rps / alone[0].rps:.2f}× req/s, "
                         f"{alone[1].p95 / alone[0].p95:.2f}× p95")
        alone_rps, alone_p95 = (sum(r.rps for r in alone) / len(alone), sum(r.p95 for r in alone) / len(alone))
        rps_ratio = run.rps / alone_rps if alone_rps else 0.0
        p95_ratio = run.p95 / alone_p95 if alone_p95 else float("inf")
        met = "—" if not done.writer else (
            "yes" if rps_ratio >= AIM_MIXED_RPS and p95_ratio <= AIM_MIXED_P95 else "NO")
        rows.append([run.endpoint.key, done.writer or "none", f"{run.rps:,.1f}", f"{run.p50:,.1f}",
                     f"{run.p95:,.1f}", str(run.errors),
                     f"{done.saved}/{done.failed}" if done.writer else "—",
                     f"{done.save_ms:,.0f}" if done.writer else "—",
                     f"{rps_ratio:.2f}", f"{p95_ratio:.2f}×",
                     met])
    print_table(MIXED_HEADERS, rows, {2, 3, 4, 5, 6, 7, 8, 9})
    print("Ratios are to the mean of the page's two runs alone (before and after the writers); the second "
          "alone run against the first, the machine's drift meanwhile: " + "; ".join(drift) + ".")
    print()
    print_table(("page", "writes beside it", "machine busy", "gunicorn", "PostgreSQL", "other", "CPU ms/request",
                 "load avg"),
                [[m.run.endpoint.key, m.writer or "none", f"{m.run.cpu['machine_busy']:.0%}",
                  f"{m.run.cpu['gunicorn']:.2f}", f"{m.run.cpu['postgres']:.2f}", f"{m.run.cpu['other']:.2f}",
                  f"{cpu_ms(m.run):,.1f}", f"{m.run.cpu['loadavg']:.1f}"] for m in runs], set(range(2, 8)))
    print()
    print(f"One dashboard view at a time, in-process, each after its own save (median of {UNLOADED_RUNS}):")
    print()
    cached = costs[0][1]
    print_table(("view", "ms", "statements", "÷ cached"),
                [[label, f"{ms:,.1f}", str(statements), f"{ms / cached:.1f}×"] for label, ms, statements in costs],
                {1, 2, 3})
    print(run_time(total_s))


def clear_cache(url: str) -> None:
    """Remove the benchmark's own keys (CACHE_PREFIX) from the Redis of `--cache-redis`."""
    import redis

    store = redis.Redis.from_url(url)
    for key in store.scan_iter(f"{CACHE_PREFIX}*"):
        store.delete(key)


# --- main -----------------------------------------------------------------------------------

KEYS = ("baseline", "dashboard", "list", "record", "save")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of wrk per endpoint")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=60, help="wrk's per-request timeout in seconds")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn workers for the app and the baseline (default 2 × cores + 1)")
    parser.add_argument("--only", default=",".join(KEYS), help="comma-separated: " + ",".join(KEYS))
    parser.add_argument("--keep", action="store_true", help="keep the database bench_load")
    parser.add_argument("--profile", action="store_true",
                        help="print the full cProfile of one request of each page that misses the aim (stderr)")
    parser.add_argument("--mixed", action="store_true",
                        help="each page (dashboard, list, record) alone, then beside one save a second")
    parser.add_argument("--writers", default=",".join(WRITERS), help="--mixed: comma-separated: " + ",".join(WRITERS))
    parser.add_argument("--cache-redis", default="", metavar="URL",
                        help="serve with CACHE_REDIS_URL=URL (compliance reports shared by the workers)")
    parser.add_argument("--database", default=PG_DATABASE, help="the PostgreSQL database made (bench_…)")
    parser.add_argument("--seed", default="63", help="random seed of the register (as bench/compliance.py)")
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, without a database")
    args = parser.parse_args(argv)
    args.only = comma_list(parser, args.only, KEYS, "endpoint")
    args.writers = comma_list(parser, args.writers, WRITERS, "writer")
    if not args.database.startswith("bench_"):
        parser.error("--database must start with bench_ (it is dropped and made again)")
    if min(args.duration, args.connections, args.threads, args.workers) < 1:
        parser.error("--duration, --connections, --threads and --workers must be at least 1")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk\n"
              "(elsewhere: https://github.com/wg/wrk, `make`, and put wrk on PATH).", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", "SECRET_KEY is not set")
    secret_key = secrets.token_hex(32)
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    database = ScratchDatabase(args.pg_server, args.database)
    servers: list[Server] = []
    runs: list[Run] = []
    try:
        progress(f"building the {SIZE.name} register: {SIZE.homes:,} homes, {SIZE.medical:,} medical, "
                 f"{SIZE.agreements:,} agreements")
        fixture = build(database.url, secret_key, args.seed)
        env = os.environ | {"DATABASE_URL": database.url, "SECRET_KEY": secret_key}
        if args.cache_redis:
            clear_cache(args.cache_redis)
            env |= {"CACHE_REDIS_URL": args.cache_redis, "CACHE_KEY_PREFIX": CACHE_PREFIX}
        (folder / "baseline_app.py").write_text(BASELINE_APP)
        app = Server("app", "wsgi:app", args.workers, env, folder / "app.log")
        servers.append(app)
        login = log_in(app.base, fixture.password)
        progress(f"  logged in as {USERNAME} (city-level health); record page: home {fixture.home_id} "
                 f"with {fixture.home_agreements} agreements")
        if args.mixed:
            pages = [e for e in endpoints(fixture) if e.key in ("dashboard", "list", "record") and e.key in args.only]
            writer_login = log_in(app.base, fixture.writer_password, WRITER)
            groups = {"gunicorn": app.pids, "postgres": lambda: backend_pids(database)}
            idle = CpuMeter(groups).start()
            time.sleep(3)
            background = idle.stop()["other"]
            agreements = agreements_to_end(database.url, fixture.home_id, (args.duration + 5) * len(pages) + 20)
            mixed = run_mixed(app, login, writer_login, pages, args, folder, groups, agreements)
            for server in servers:
                server.stop()
            servers.clear()
            progress("timing one dashboard view after each kind of save, in-process (no load)")
            costs = view_costs(database.url, secret_key, fixture, args.cache_redis, agreements)
            report_mixed(mixed, costs, fixture, args, background, elapsed())
            return 0
        baseline = Server("baseline", "baseline_app:app", args.workers, env, folder / "baseline.log",
                          chdir=folder, health=f"/one?code={fixture.baseline_code}")
        servers.append(baseline)
        chosen = [e for e in endpoints(fixture) if e.key in args.only]
        for endpoint in chosen:
            if endpoint.form:
                check_save(app.base, login, endpoint)
        groups = {"gunicorn": lambda: app.pids() + baseline.pids(),
                  "postgres": lambda: backend_pids(database)}
        idle = CpuMeter(groups).start()
        time.sleep(3)
        background = idle.stop()["other"]
        progress(f"  before the runs, other processes keep {background:.2f} of {os.cpu_count()} cores busy")
        for endpoint in chosen:
            server = app if endpoint.server == "app" else baseline
            runs.append(run_wrk(endpoint, server.base, login if endpoint.server == "app" else None, args,
                                folder, groups))
            if runs[-1].top:
                progress("  top, half-way:\n" + textwrap.indent(runs[-1].top, "    "))
            progress(f"  {server.name} drained its queue in {server.drain():.1f} s")
        for server in servers:
            server.stop()
        servers.clear()
        missing = {r.endpoint.key for r in runs if r.endpoint.page and r.p95 >= AIM_P95_MS}
        progress("timing one request of each app endpoint in-process (no load)")
        quiet = unloaded(database.url, secret_key, fixture.password, chosen, missing)
        for q in quiet.values():
            if q.profile and args.profile:
                progress(f"cProfile of one {q.key} request:\n{q.profile}")
        report(runs, quiet, fixture, args, background, elapsed())
    finally:
        for server in servers:
            server.stop()
        database.close(args.keep)
        if args.cache_redis:
            clear_cache(args.cache_redis)
        if args.keep:
            progress(f"kept PostgreSQL database {args.database} ({database.url})")
        else:
            progress(f"dropped PostgreSQL database {args.database}")
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
