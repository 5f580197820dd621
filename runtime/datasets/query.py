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
from runtime.datasets.store import as_item, dataset_id
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
    dataset = dataset_id(bot_id, name)
    limit = max(1, min(int(limit), MAX_LIMIT))
    if near is None:
        return _without_place(_matching(dataset, tags, _r.fields, _r.tags, _r.latitude, _r.longitude),
                              sort_by, field, order, limit)
    radius = radius_km or FIRST_RADIUS_KM
    while True:
        found = _within(_matching(dataset, tags, _r.latitude, _r.longitude), near, radius)
        if radius_km or len(found) >= limit or radius >= MAX_RADIUS_KM:
            break
        radius *= 2
    by_field = sort_by == "field" and field
    if not by_field:  # the nearest (or farthest) `limit` need no fields to be picked
        found = sorted(found, key=lambda pair: pair[1], reverse=order == "desc")[:limit]
    items = _items(dataset, found)
    if by_field:
        items.sort(key=lambda item: _sort_key(item.get(field)), reverse=order == "desc")
    return items[:limit]


def _matching(dataset_id: int, tags, *columns):
    query = select(_r.key, *columns).where(_r.dataset_id == dataset_id)
    for tag in dict.fromkeys(tags):
        query = query.where(exists().where(_t.dataset_id == dataset_id, _t.key == _r.key, _t.tag == tag))
    return query


def _items(dataset_id: int, found: list[tuple[str, float]]) -> list[dict]:
    """The rows of (key, distance) pairs as items, in the pairs' order: one indexed read of the chosen keys."""
    if not found:
        return []
    distances, items, keys = dict(found), {}, [key for key, _ in found]
    for start in range(0, len(keys), 5_000):  # bound the bound parameters of one statement
        for row in db.session.execute(select(_r.key, _r.fields, _r.tags, _r.latitude, _r.longitude).where(
                _r.dataset_id == dataset_id, _r.key.in_(keys[start:start + 5_000]))):
            items[row.key] = {**as_item(row.key, row.fields, row.tags, row.latitude, row.longitude),
                              "distanceKm": round(distances[row.key], 3)}
    return [items[key] for key, _ in found if key in items]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def _within(base, near: tuple[float, float], radius: float) -> list[tuple[str, float]]:
    """(key, distance) of the rows within `radius` km, read from the index alone."""
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
    for key, latitude, longitude in db.session.execute(query):
        distance = distance_km(lat, lon, latitude, longitude)
        if distance <= radius:
            found.append((key, distance))
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




def carry_out(turn, effect: dict) -> list[dict] | dict:
    """In-turn handler of `dataset.query`: the rows the step asked for, its answer."""
    try:
        return find(turn.bot.id, effect["dataset"], tags=effect.get("tags") or [],
                    near=tuple(effect["near"]) if effect.get("near") else None, radius_km=effect.get("radiusKm"),
                    sort_by=effect.get("sortBy"), field=effect.get("field"), order=effect.get("order") or "asc",
                    limit=effect.get("limit") or 10)
    except LookupError as e:
        return {"error": str(e)}
