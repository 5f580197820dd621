"""The tables of datasets: a bot's named sets of rows, kept locally and queried during conversations.

A row has a key (unique in its dataset), fields (JSON), tags and an optional place. Places are two plain
float columns under one index (dataset, latitude, longitude): a query near a point reads the index range
of the point's bounding box before it computes exact distances. Tags sit in a side table keyed like the
rows, indexed both ways: rows of a tag, and the tags of a row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.extensions import db
from runtime.store.models import BigId, UTCDateTime, utcnow


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
        Index(None, "dataset_id", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict] = mapped_column(JSON)
    tags: Mapped[list] = mapped_column(JSON)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class DatasetTag(db.Model):
    __tablename__ = "dataset_tags"
    __table_args__ = (Index(None, "dataset_id", "tag", "key"),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
