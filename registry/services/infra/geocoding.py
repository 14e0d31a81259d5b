"""Address → coordinates through a (self-hosted) Nominatim server, cached in the database.

Nominatim answers in WGS-84, the datum the registry stores. Each answer, found
or not, is kept in `geocode_cache`, so an address is asked once; failures are
not kept, so the next try asks again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from geopy.adapters import URLLibAdapter
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry.extensions import db
from registry.models import GeocodeCache, Institution, Region
from registry.services import RecordInvalid
from registry.services import institutions as institution_service

log = logging.getLogger(__name__)

NOMINATIM = "nominatim"
PROVIDERS = frozenset({NOMINATIM})
CITY = "茂名"
# Mainland China, roughly (WGS-84): an answer outside it is not an address in 茂名.
CHINA_LAT = (18.0, 53.6)
CHINA_LON = (73.4, 135.1)


@dataclass(frozen=True)
class GeocodeResult:
    """What the geocoder said: status is found, not_found, disabled or unavailable."""

    status: str
    lat: float | None = None
    lon: float | None = None
    source: str = ""
    display_name: str = ""
    message: str = ""


def provider() -> str | None:
    """The configured geocoder, or None when there is none (a Nominatim needs its server's address)."""
    name = current_app.config["GEOCODER"]
    if name not in PROVIDERS or not current_app.config.get("GEOCODER_DOMAIN"):
        return None
    return name


def build_query(address: str, region_name: str | None) -> str:
    """The query "茂名市 {区县} {地址}", whitespace collapsed; the address alone when it names 茂名."""
    address = " ".join((address or "").split())
    if not address or CITY in address:
        return address
    return " ".join(part for part in ("茂名市", region_name or "", address) if part)


@functools.lru_cache(maxsize=4)
def _rate_limited(domain: str, scheme: str, user_agent: str, timeout: float,
                  min_delay: float) -> RateLimiter:
    """One rate-limited geocode callable per process and settings, so the delay holds across calls."""
    # The standard library's client: geopy's requests adapter would retry twice more on its own.
    geocoder = Nominatim(domain=domain, scheme=scheme, user_agent=user_agent, timeout=timeout,
                         adapter_factory=URLLibAdapter)
    # A retry waits as long as the usual delay (geopy's default 5 s is long for a person waiting).
    return RateLimiter(geocoder.geocode, min_delay_seconds=min_delay, max_retries=1,
                       error_wait_seconds=min_delay, swallow_exceptions=False)


def _geocoder() -> RateLimiter:
    config = current_app.config
    return _rate_limited(config["GEOCODER_DOMAIN"], config["GEOCODER_SCHEME"],
                         config["GEOCODER_USER_AGENT"], float(config["GEOCODER_TIMEOUT"]),
                         float(config["GEOCODER_MIN_DELAY"]))


def reset() -> None:
    """Forget the geocoders built so far (after the settings change)."""
    _rate_limited.cache_clear()


def in_china(lat: float, lon: float) -> bool:
    """Whether a WGS-84 point lies within mainland China's bounding box."""
    return CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LON[0] <= lon <= CHINA_LON[1]


def _result(row: GeocodeCache) -> GeocodeResult:
    if row.lat is None:
        return GeocodeResult("not_found", source=row.provider,
                             message=_("未找到该地址的坐标，请核对地址或手工填写经纬度"))
    return GeocodeResult("found", row.lat, row.lon, row.provider, row.display_name,
                         _("已根据地址填入坐标，请核对后保存：%(place)s", place=row.display_name))


def _idle() -> bool:
    session = db.session()
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


def geocode(address: str, region_name: str | None) -> GeocodeResult:
    """Coordinates (WGS-84) for an address in 茂名; adds the answer to the cache and flushes."""
    name = provider()
    if name is None:
        return GeocodeResult("disabled", message=_("未配置地理编码服务，请手工填写经纬度"))
    query = build_query(address, region_name)
    if not query:
        return GeocodeResult("not_found", source=name, message=_("请先填写地址"))
    idle = _idle()
    cached = db.session.scalar(
        select(GeocodeCache).where(GeocodeCache.provider == name, GeocodeCache.query == query)
    )
    if cached is not None:
        return _result(cached)
    if idle:
        # The caller holds no transaction: end the one this read began, so SQLite's
        # write lock (every transaction begins IMMEDIATE) is not held through the network call.
        db.session.rollback()
    try:
        location = _geocoder()(query, country_codes="cn", language="zh-CN")
    except GeopyError as error:
        log.warning("geocoding %r failed: %s", query, error)
        return GeocodeResult("unavailable", source=name,
                             message=_("地理编码服务暂时无法连接，请稍后再试或手工填写坐标"))
    row = GeocodeCache(provider=name, query=query)
    if location is not None and in_china(location.latitude, location.longitude):
        row.lat, row.lon = location.latitude, location.longitude
        row.display_name = (location.address or "")[:500]
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same address was cached by a concurrent request meanwhile
        pass
    return _result(row)


def fill_missing(limit: int | None, checkpoint: Callable[[], None] | None = None) -> dict[str, int]:
    """Geocode institutions with an address and no coordinates, one by one (each edit audited).

    `checkpoint` runs before each lookup and at the end: the CLI commits there, so
    a long run keeps what it has done and holds no transaction through a network call.
    """
    counts = {"found": 0, "not_found": 0, "failed": 0}
    region_names = dict(db.session.execute(select(Region.code, Region.name)).tuples().all())
    pending = db.session.execute(
        select(Institution.id, Institution.address, Institution.region_code)
        .where(Institution.lat.is_(None), Institution.address != "")
        .order_by(Institution.id)
        .limit(limit)
    ).tuples().all()
    for institution_id, address, region_code in pending:
        if checkpoint is not None:
            checkpoint()
        result = geocode(address, region_names.get(region_code))
        if result.status in ("disabled", "unavailable"):
            counts["failed"] += 1
        elif result.status == "not_found":
            counts["not_found"] += 1
        elif _save(db.session.get(Institution, institution_id), result):
            counts["found"] += 1
        else:
            counts["failed"] += 1
    if checkpoint is not None:
        checkpoint()
    return counts


def _save(institution: Institution | None, result: GeocodeResult) -> bool:
    """Store found coordinates through the institutions service, so the edit is audited."""
    if institution is None or institution.lat is not None:  # deleted or given coordinates meanwhile
        return False
    try:
        institution_service.update(
            institution, {"lat": result.lat, "lon": result.lon, "coord_source": result.source},
            version=None)
    except RecordInvalid as error:
        log.warning("%s: coordinates not saved: %s", institution.code, error)
        return False
    return True
