"""Reads on a PostgreSQL streaming replica (`DATABASE_REPLICA_URL`); writes always on the primary.

A request's session reads from the replica only when all of these hold:

- the request is safe (GET, HEAD, OPTIONS) and its view is not marked `primary_only`;
- its user wrote nothing within `READ_YOUR_WRITES_SECONDS` (the time of the last write
  rides in the signed session cookie), so a user reads their own change back;
- the replica is healthy: it answers, is in recovery, and has replayed what the primary
  had written or is behind by no more than `REPLICA_MAX_LAG_SECONDS` (checked at most
  every `REPLICA_CHECK_SECONDS` per process);
- the request has not written yet: the first flush, INSERT/UPDATE/DELETE or
  SELECT … FOR UPDATE goes to the primary and the rest of the request stays there, so
  a GET that writes (a session's last-seen time, an audit of a refused record, a
  "seen" mark) reads what it wrote.

This is SQLAlchemy's "custom vertical partitioning" recipe: a Session whose `get_bind`
chooses the engine. Outside a request (the CLI, background workers) everything uses
the primary, and with no replica configured nothing changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app, has_request_context, request, session
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase

from registry import config as settings

BIND = "replica"  # its key in app.extensions
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WROTE_AT = "wrote_at"  # session key: when this user's request last wrote (epoch seconds)
_STATE = "registry.db_route"  # this request's routing, in its WSGI environ
log = logging.getLogger(__name__)

MEASURE = text(
    "SELECT pg_is_in_recovery(),"
    " pg_wal_lsn_diff(CAST(:primary_lsn AS pg_lsn), pg_last_wal_replay_lsn()) <= 0,"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
)


@dataclass(frozen=True)
class Health:
    """What the last check found: `state` is ok, down, lagging or not_replica (unchecked before the first)."""

    state: str
    lag_seconds: float | None = None
    checked_at: float = float("-inf")  # time.monotonic() of the check; never checked yet

    @property
    def usable(self) -> bool:
        return self.state == "ok"


class Replica:
    """One process's view of the replica: its engines and its cached health."""

    def __init__(self, app: Flask, primary: Engine, engine: Engine) -> None:
        self.app = app
        self.primary = primary
        self.engine = engine
        self._health = Health("unchecked")
        self._lock = threading.Lock()

    def health(self) -> Health:
        """The replica's health, measured again when older than REPLICA_CHECK_SECONDS."""
        every = self.app.config["REPLICA_CHECK_SECONDS"]
        if time.monotonic() - self._health.checked_at >= every:
            with self._lock:
                if time.monotonic() - self._health.checked_at >= every:
                    self._set(self._measure())
        return self._health

    def mark_down(self) -> None:
        """The replica failed a request: skip it until the next check says otherwise."""
        self._set(Health("down", checked_at=time.monotonic()))

    def _set(self, health: Health) -> None:
        if health.state != self._health.state:  # an operator sees when reads move, and why
            report = log.info if health.usable else log.warning
            report("read replica %s: reads go to %s", health.state, "it" if health.usable else "the primary")
        self._health = health

    def _measure(self) -> Health:
        """Caught up when it has replayed the primary's current WAL position.

        Otherwise its lag is the age of the last transaction it replayed: an upper bound on
        how old what it shows can be. (On an idle primary that age grows with no lag at all,
        which is why the WAL positions are compared first.)
        """
        now = time.monotonic()
        try:
            with self.primary.connect() as connection:
                primary_lsn = connection.scalar(text("SELECT pg_current_wal_lsn()::text"))
            with self.engine.connect() as connection:
                recovering, caught_up, age = connection.execute(MEASURE, {"primary_lsn": primary_lsn}).one()
        except SQLAlchemyError:
            return Health("down", checked_at=now)
        if not recovering:
            return Health("not_replica", checked_at=now)
        lag = 0.0 if caught_up else (float(age) if age is not None else None)
        if lag is None or lag > self.app.config["REPLICA_MAX_LAG_SECONDS"]:
            return Health("lagging", lag, now)
        return Health("ok", lag, now)


@dataclass
class _Route:
    """One request's choice: None until its first read asks; `pinned` once it wrote."""

    replica: bool | None = None
    pinned: bool = False
    wrote: bool = False
    bookkeeping: bool = False


def replica_of(app: Flask) -> Replica | None:
    return app.extensions.get(BIND)


def _route() -> _Route | None:
    """This request's routing state, or None outside a request or without a replica."""
    if not has_request_context() or replica_of(current_app) is None:
        return None
    return request.environ.setdefault(_STATE, _Route())


def _writes(clause) -> bool:
    return isinstance(clause, UpdateBase) or (isinstance(clause, Select) and clause._for_update_arg is not None)


class RoutingSession(FlaskSession):
    """db.session: reads of a safe request on the replica when it may; everything else on the primary."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        primary = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        route = _route()
        if route is None or bind is not None:
            return primary
        if self._flushing or _writes(clause):
            _note_write(route)
            return primary
        if route.pinned or clause is None or not _reads_replica(route):
            return primary
        return self._replica_connection(route) or primary

    def _replica_connection(self, route: _Route) -> Engine | None:
        """The replica, its connection open in this transaction; None when it cannot connect (primary from now on)."""
        replica = replica_of(current_app)
        try:
            self.connection(bind_arguments={"bind": replica.engine})
        except DBAPIError:
            replica.mark_down()
            route.replica = False
            return None
        return replica.engine


def _note_write(route: _Route) -> None:
    if not route.bookkeeping:
        route.pinned = route.wrote = True


def _reads_replica(route: _Route) -> bool:
    """Decided at the request's first read (see the module's docstring)."""
    if route.replica is None:
        view = current_app.view_functions.get(request.endpoint or "")
        route.replica = (
            request.method in SAFE_METHODS
            and not getattr(view, "primary_only", False)
            and time.time() - session.get(WROTE_AT, 0) >= current_app.config["READ_YOUR_WRITES_SECONDS"]
            and replica_of(current_app).health().usable
        )
    return route.replica


def primary_only(view: Callable) -> Callable:
    """Mark a view that must read the primary even on GET (it compares what it reads with what it writes)."""
    view.primary_only = True
    return view


def use_primary() -> None:
    """Send the rest of this request to the primary."""
    route = _route()
    if route is not None:
        route.pinned = True


@contextmanager
def bookkeeping() -> Iterator[None]:
    """Writes the user did not ask for (a session's last-seen time, a token's last use).

    They go to the primary but neither keep the request's reads there nor open a read-your-writes window.
    """
    route = _route()
    if route is None:
        yield
        return
    route.bookkeeping = True
    try:
        yield
    finally:
        route.bookkeeping = False


def init_app(app: Flask) -> None:
    """Route reads to the replica when DATABASE_REPLICA_URL names one and the primary is PostgreSQL.

    Its engine is the app's own, not a Flask-SQLAlchemy bind: a bind would get a metadata of its own,
    which create_all and drop_all then expect of every app in the process.
    """
    url = app.config["DATABASE_REPLICA_URL"]
    options = settings.replica_engine_options(app.config["SQLALCHEMY_DATABASE_URI"], url)
    if options is None:
        return
    with app.app_context():
        primary = app.extensions["sqlalchemy"].engine
    replica = Replica(app, primary, create_engine(url, **options))
    app.extensions[BIND] = replica

    @event.listens_for(replica.engine, "handle_error")
    def _replica_failed(context) -> None:
        if context.is_disconnect:
            replica.mark_down()

    @app.after_request
    def _remember_write(response):
        """A request that wrote opens the user's read-your-writes window."""
        route = request.environ.get(_STATE)
        if route is not None and route.wrote:
            session[WROTE_AT] = time.time()
        return response


def status(app: Flask) -> dict:
    """The replica's part of /healthz: nothing when there is none."""
    replica = replica_of(app)
    if replica is None:
        return {}
    health = replica.health()
    report: dict = {"replica": health.state}
    if health.lag_seconds is not None:
        report["replica_lag_seconds"] = round(health.lag_seconds, 1)
    return report
