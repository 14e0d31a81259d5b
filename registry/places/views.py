"""The map page, its data, and the nearby search used by the agreement form."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_login import current_user, login_required
from sqlalchemy.orm import aliased

from registry import permissions
from registry.display import distance
from registry.extensions import db
from registry.models import Agreement, Institution, clock
from registry.places import bp
from registry.services import geo
from registry.services.agreements import status_clause
from registry.vocab import ACTIVE, KINDS, MEDICAL, MEDICAL_TYPES

MAX_POINTS = 20000


@bp.route("/map")
@login_required
def map_page():
    """Homes and medical institutions as points, active agreements as lines, district boundaries.

    The map opens on the region chosen (`?region=`): a district-bound user's own, which is all they may
    choose; the whole city otherwise.
    """
    choices = permissions.region_options(current_user)
    region = request.args.get("region", "")
    if len(choices) == 1:
        region = next(iter(choices))
    elif region not in choices:
        region = ""
    return render_template("places/map.html", choices=choices, region=region)


def _type_label(kind: str, medical_type: str | None) -> str:
    """What the map's tooltip calls an institution: 养老机构, or the medical institution's type."""
    return str(MEDICAL_TYPES.get(medical_type, medical_type) if kind == MEDICAL and medical_type else KINDS[kind])


@bp.route("/map/data.json")
@login_required
def map_data():
    """Operating institutions with coordinates and today's active agreements, in the user's scope."""
    today = clock.today()
    region = request.args.get("region") or None
    query = (permissions.institutions_for(current_user)
             .where(Institution.lat.is_not(None), Institution.operating_on(today))
             .with_only_columns(Institution.id, Institution.kind, Institution.name, Institution.lat,
                                Institution.lon, Institution.region_code, Institution.medical_type,
                                Institution.beds_total))
    if region:
        query = query.where(Institution.region_code == region)
    rows = db.session.execute(query.limit(MAX_POINTS + 1)).all()
    home, medical = aliased(Institution), aliased(Institution)
    lines = (permissions.agreements_for(current_user)
             .join(home, home.id == Agreement.eldercare_id).join(medical, medical.id == Agreement.medical_id)
             .where(status_clause(ACTIVE, today), home.lat.is_not(None), medical.lat.is_not(None))
             .with_only_columns(Agreement.id, Agreement.code, home.lat, home.lon, medical.lat, medical.lon))
    if region:
        lines = lines.where(home.region_code == region)
    return jsonify(
        truncated=len(rows) > MAX_POINTS,
        points=[{"id": r.id, "kind": r.kind, "name": r.name, "lat": r.lat, "lon": r.lon, "region": r.region_code,
                 "type": _type_label(r.kind, r.medical_type), "beds": r.beds_total}
                for r in rows[:MAX_POINTS]],
        lines=[{"id": r[0], "code": r[1], "from": [r[3], r[2]], "to": [r[5], r[4]]}
               for r in db.session.execute(lines.limit(MAX_POINTS))],
    )


@bp.route("/places/nearby.json")
@login_required
def nearby():
    """The nearest operating medical institutions to a home (or a point), filterable by type."""
    limit = min(max(request.args.get("limit", 10, type=int), 1), 50)
    medical_type = request.args.get("type") or None
    if medical_type and medical_type not in MEDICAL_TYPES:
        medical_type = None
    home_id = request.args.get("home", type=int)
    home_code = (request.args.get("home_code") or "").split(" ", 1)[0]
    home = None
    if home_code:
        home = db.session.scalar(permissions.institutions_for(current_user).where(Institution.code == home_code))
        if home is None:
            return jsonify(results=[], reason="not_found")
        lat, lon = home.lat, home.lon
    elif home_id:
        home = permissions.get_institution_or_404(current_user, home_id)
        lat, lon = home.lat, home.lon
    else:
        lat, lon = request.args.get("lat", type=float), request.args.get("lon", type=float)
    if lat is None or lon is None:
        return jsonify(results=[], reason="no_coordinates")
    # A user chooses among the institutions they may read, as the forms allow.
    found = geo.nearest_medical(lat, lon, clock.today(), limit, medical_type,
                                permissions.institutions_for(current_user), home.id if home is not None else None)
    nearby_km = current_app.config["NEARBY_KM"]
    return jsonify(results=[
        {"code": n.institution.code, "name": n.institution.name, "type": n.institution.medical_type,
         "km": round(n.km, 2), "distance": distance(n.km), "nearby": n.km <= nearby_km,
         "region": n.institution.region_code}
        for n in found
    ])


