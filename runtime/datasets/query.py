"""The `dataset-query` step's lookup: rows of a dataset by tags and by distance from a point, sorted, limited.

Near a point, the database reads only the index ranges of the circle's bounding box (dataset, latitude
band, longitude: see `models`); exact great-circle distances are computed for those rows alone. Without a
radius the box grows (5 km, 10 km, 20 km ...) until the circle holds enough rows: the rows inside a circle
are nearer than any outside it, so the nearest `limit` are found without reading the whole dataset. Tags
must all be present.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from runtime.datasets.models import DatasetRow, DatasetTag, band_of
from runtime.datasets.store import as_item, get
from runtime.extensions import db

EARTH_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_KM / 180
FIRST_RADIUS_KM, MAX_RADIUS_KM = 5.0, 20_016.0
MAX_LIMIT = 100
MAX_BANDS = 64  # a taller box reads its latitude range instead of seeking band by band
_r, _t = DatasetRow.__table__.c, DatasetTag.__table__.c


def find(bot_id: str, name: str, *, tags: list[str] = (), near: tuple[float, float] | None = None,
         radius_km: float | None = None, sort_by: str | None = None, field: str | None = None,
         order: str = "asc", limit: int = 10) -> list[dict]:
    """The matching rows as items (fields + key, tags, latitude, longitude, distanceKm near a point)."""
    dataset = get(bot_id, name)
    limit = max(1, min(int(limit), MAX_LIMIT))
    base = select(_r.key, _r.fields, _r.tags, _r.latitude, _r.longitude).where(_r.dataset_id == dataset.id)
    for tag in dict.fromkeys(tags):
        base = base.where(exists().where(_t.dataset_id == dataset.id, _t.key == _r.key, _t.tag == tag))
    if near is None:
        return _without_place(base, sort_by, field, order, limit)
    radius = radius_km or FIRST_RADIUS_KM
    while True:
        found = _within(base, near, radius)
        if radius_km or len(found) >= limit or radius >= MAX_RADIUS_KM:
            break
        radius *= 2
    if sort_by == "field" and field:
        found.sort(key=lambda item: _sort_key(item.get(field)), reverse=order == "desc")
    else:
        found.sort(key=lambda item: item["distanceKm"], reverse=order == "desc")
    return found[:limit]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def _within(base, near: tuple[float, float], radius: float) -> list[dict]:
    lat, lon = near
    dlat = radius / KM_PER_DEGREE
    cos_lat = math.cos(math.radians(lat))
    dlon = 180.0 if cos_lat < 1e-6 or abs(lat) + dlat >= 90 else min(180.0, dlat / max(cos_lat, 1e-6))
    query = base.where(_r.latitude.between(lat - dlat, lat + dlat))
    bands = range(band_of(lat - dlat), band_of(lat + dlat) + 1)
    if len(bands) <= MAX_BANDS:
        query = query.where(_r.band.in_(list(bands)))
    if dlon < 180:
        west, east = lon - dlon, lon + dlon
        if west < -180:
            query = query.where(or_(_r.longitude >= west + 360, _r.longitude <= east))
        elif east > 180:
            query = query.where(or_(_r.longitude >= west, _r.longitude <= east - 360))
        else:
            query = query.where(_r.longitude.between(west, east))
    else:
        query = query.where(_r.longitude.is_not(None))
    found = []
    for row in db.session.execute(query):
        distance = distance_km(lat, lon, row.latitude, row.longitude)
        if distance <= radius:
            item = as_item(row.key, row.fields, row.tags, row.latitude, row.longitude)
            item["distanceKm"] = round(distance, 3)
            found.append(item)
    return found


def _without_place(base, sort_by: str | None, field: str | None, order: str, limit: int) -> list[dict]:
    if sort_by == "field" and field:
        value = _field(field)
        base = base.order_by(value.desc() if order == "desc" else value.asc(), _r.key)
    else:
        base = base.order_by(_r.key.desc() if order == "desc" else _r.key)
    return [as_item(r.key, r.fields, r.tags, r.latitude, r.longitude)
            for r in db.session.execute(base.limit(limit))]


def _field(name: str):
    """A field of the row as a sortable SQL value: numbers as numbers, texts as texts, on either database."""
    if db.engine.dialect.name == "postgresql":
        return cast(cast(_r.fields, JSONB)[name], JSONB)
    return func.json_extract(_r.fields, "$." + '"' + name.replace('"', '') + '"')


def _sort_key(value: Any) -> tuple:
    """Numbers before texts before anything else; missing values last (first when descending)."""
    if isinstance(value, bool) or value is None:
        return (3 if value is None else 2, str(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value).casefold()) if isinstance(value, str) else (2, str(value))




def carry_out(bot_id: str, effect: dict) -> list[dict] | dict:
    """The `dataset.query` effect of the step, run inside the turn (`runtime.store.inline`)."""
    try:
        return find(bot_id, effect["dataset"], tags=effect.get("tags") or [],
                    near=tuple(effect["near"]) if effect.get("near") else None, radius_km=effect.get("radiusKm"),
                    sort_by=effect.get("sortBy"), field=effect.get("field"), order=effect.get("order") or "asc",
                    limit=effect.get("limit") or 10)
    except LookupError as e:
        return {"error": str(e)}
