"""Settings: the one place that reads the environment."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - replaced in production by SECRET_KEY

DEV_KEY_REFUSAL = (
    "拒绝以生产方式启动（REGISTRY_ENV=production）：SECRET_KEY 未设置，或仍是公开的开发密钥。"
    "请把 SECRET_KEY 设为一个随机值，例如 python3 -c 'import secrets; print(secrets.token_hex(32))' 的输出。\n"
    "Refusing to serve in production (REGISTRY_ENV=production): SECRET_KEY is unset or is the public "
    "development key. Set SECRET_KEY to a random value, e.g. the output of "
    "python3 -c 'import secrets; print(secrets.token_hex(32))'."
)


class InsecureSettings(RuntimeError):
    """Production serving refused: a setting still holds its public development default."""


def production() -> bool:
    """`REGISTRY_ENV=production` (set by `make serve`): development defaults are refused, not warned about."""
    return os.environ.get("REGISTRY_ENV", "development").strip().lower() == "production"


def serving_refusal() -> str | None:
    """Why the app must not serve in production as configured, or None when it may."""
    if production() and os.environ.get("SECRET_KEY", "").strip() in ("", DEV_SECRET_KEY):
        return DEV_KEY_REFUSAL
    return None


def _instance_path() -> Path:
    return Path(__file__).resolve().parent.parent / "instance"


def database_url(instance_path: Path | None = None) -> str:
    """`DATABASE_URL`, or the SQLite file under `instance/`."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    folder = instance_path or _instance_path()
    return f"sqlite:///{folder / 'registry.sqlite3'}"


def load(instance_path: Path) -> dict:
    """Build the Flask configuration from the environment; raises InsecureSettings in production."""
    refusal = serving_refusal()
    if refusal:
        raise InsecureSettings(refusal)
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        warnings.warn(
            "SECRET_KEY is not set: using a development key; set SECRET_KEY in production.",
            stacklevel=2,
        )
        secret = DEV_SECRET_KEY
    return {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        # A PostgreSQL streaming replica for the reads of safe requests (registry/replica.py); unset: none.
        "DATABASE_REPLICA_URL": os.environ.get("DATABASE_REPLICA_URL", ""),
        # After a request that wrote, its user reads from the primary for this long (read-your-writes).
        "READ_YOUR_WRITES_SECONDS": float(os.environ.get("READ_YOUR_WRITES_SECONDS", "10")),
        # A replica further behind than this is skipped; its health is checked this often per process.
        "REPLICA_MAX_LAG_SECONDS": float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "5")),
        "REPLICA_CHECK_SECONDS": float(os.environ.get("REPLICA_CHECK_SECONDS", "2")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("REGISTRY_TIMEZONE", "Asia/Shanghai"),
        # The registry's day (docs/indicators.md): every default day, status and file-name date uses it.
        "REGISTRY_TIMEZONE": os.environ.get("REGISTRY_TIMEZONE", "Asia/Shanghai"),
        "NEARBY_KM": float(os.environ.get("NEARBY_KM", "10")),
        "PAGE_SIZE": int(os.environ.get("PAGE_SIZE", "20")),
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        # Data rows (non-empty) one import file or sheet may hold; more is refused before any row is checked.
        "MAX_IMPORT_ROWS": int(os.environ.get("MAX_IMPORT_ROWS", "200000")),
        "SCANS_DIR": os.environ.get("SCANS_DIR"),  # default: instance/scans
        "WTF_CSRF_TIME_LIMIT": None,
        # Sessions end after this long without a request, and this long after login at most.
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(os.environ.get("SESSION_MAX_HOURS", "12")),
        # An API token's life when the administrator who issues it does not choose one.
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "180")),
        # The login throttle: failures per username, and per address, within the lock window.
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_MAX_FAILURES_PER_IP": int(os.environ.get("LOGIN_MAX_FAILURES_PER_IP", "30")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        # Proxies in front of the app (a TLS load balancer counts one): their X-Forwarded-For/-Proto/-Host
        # are trusted, so the throttle counts per client and HSTS is sent over https. 0: none, headers ignored.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # Address → coordinates: "nominatim" (a self-hosted server at GEOCODER_DOMAIN) or "none".
        "GEOCODER": os.environ.get("GEOCODER", "none").strip().lower(),
        "GEOCODER_DOMAIN": os.environ.get("GEOCODER_DOMAIN", ""),  # e.g. 127.0.0.1:8080: a server of one's own
        "GEOCODER_SCHEME": os.environ.get("GEOCODER_SCHEME", "https"),
        "GEOCODER_USER_AGENT": os.environ.get("GEOCODER_USER_AGENT", "maoming-yiyang-registry"),
        "GEOCODER_TIMEOUT": float(os.environ.get("GEOCODER_TIMEOUT", "5")),
        # Seconds between two requests: Nominatim's usage policy allows one a second.
        "GEOCODER_MIN_DELAY": float(os.environ.get("GEOCODER_MIN_DELAY", "1.0")),
        # Background jobs (checking and importing files; registry/services/infra/jobs.py). Where they wait:
        # unset, instance/jobs.sqlite3 (a file of their own, never the register's); redis://HOST:PORT/DB.
        "JOBS_URL": os.environ.get("JOBS_URL", ""),
        # Who runs them: "thread", a worker thread in the web process (development, `make run`); "none",
        # separate `registry worker` processes (`make serve`, production).
        "JOBS_WORKER": os.environ.get("JOBS_WORKER", "thread").strip().lower(),
        # 1: each job runs inline as it is submitted, with no queue and no worker (the test suite).
        "JOBS_IMMEDIATE": os.environ.get("JOBS_IMMEDIATE", "") == "1",
        # Where the compliance reports are cached (services/infra/compliance_cache.py): redis://HOST:PORT/DB, shared by
        # every worker and app server, so a report is computed once per change; unset, each process keeps its own.
        "CACHE_REDIS_URL": os.environ.get("CACHE_REDIS_URL", ""),
        "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "registry:"),  # two deployments on one Redis differ
        # Review (docs/review-and-reporting.md): a district's change that moves an indicator waits for the city bureau
        # of its department; 0 turns review off (a deployment of one bureau).
        "REVIEW_CHANGES": os.environ.get("REVIEW_CHANGES", "1").strip() != "0",
        # A period's report is late when not submitted this many days after the period's last day.
        "REPORT_DEADLINE_DAYS": int(os.environ.get("REPORT_DEADLINE_DAYS", "15")),
    }


def engine_options(url: str) -> dict:
    """Engine options for a database URL.

    PostgreSQL's JIT compiles the compliance counts' plans for hundreds of
    milliseconds more than they take to run at province or national size; the
    registry's queries are short, so it is turned off for the app's sessions.
    """
    from sqlalchemy.engine import make_url

    options: dict = {"pool_pre_ping": True}
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        given = parsed.query.get("options", "")  # e.g. a search_path set in the URL is kept
        options["connect_args"] = {"options": " ".join(filter(None, (given, "-c jit=off")))}
    return options


def replica_engine_options(primary_url: str, replica_url: str) -> dict | None:
    """Engine options for the read replica, or None: there is none, or the primary is not PostgreSQL."""
    from sqlalchemy.engine import make_url

    if not replica_url or make_url(primary_url).get_backend_name() != "postgresql":
        return None
    options = engine_options(replica_url)
    # A replica that does not answer is skipped after this long, not after the system's TCP timeout.
    options.setdefault("connect_args", {})["connect_timeout"] = 3
    return options
