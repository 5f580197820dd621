"""The tables of datasets: a bot's named sets of rows, kept locally and queried during conversations.

A row has a key (unique in its dataset), fields (JSON), tags and an optional place. Places are two plain
float columns, plus the row's latitude band (`band`: latitude in steps of `BAND_DEGREES`, about 5.5 km),
under one index (dataset, band, longitude, latitude, key): a query near a point seeks, band by band, the
longitude range of the point's bounding box, so it reads about the rows of the box and not a whole strip
of the map around the world, from the index alone; it computes exact distances for those, and reads the
fields of the few it keeps. This works alike on SQLite and
PostgreSQL without a spatial extension. Tags sit in a side table keyed like the rows, indexed both ways:
rows of a tag, and the tags of a row.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.models import BigId, UTCDateTime, utcnow

BAND_DEGREES = 0.05


def band_of(latitude: float) -> int:
    return math.floor(latitude / BAND_DEGREES)


class Dataset(db.Model):
    """A dataset of a bot, with its optional pull source and the outcome of its last update."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("bot_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    mapping: Mapped[dict | None] = mapped_column(JSON)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)  # periodic pull; None: pushed or pulled on demand
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # rows last changed
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last pull attempt
    next_pull_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    error: Mapped[str | None] = mapped_column(Text)  # the last update's failure; cleared by a success
    error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetRow(db.Model):
    __tablename__ = "dataset_rows"
    __table_args__ = (
        UniqueConstraint("dataset_id", "key"),
        Index(None, "dataset_id", "band", "longitude", "latitude", "key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict] = mapped_column(JSON)
    tags: Mapped[list] = mapped_column(JSON)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    band: Mapped[int | None] = mapped_column(Integer)


class DatasetTag(db.Model):
    __tablename__ = "dataset_tags"
    __table_args__ = (Index(None, "dataset_id", "tag", "key"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
