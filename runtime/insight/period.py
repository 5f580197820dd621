"""A period of whole UTC days, as analytics is asked for it, and the SQL that buckets timestamps by day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, cast, func
from sqlalchemy.sql import ColumnElement

MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """The days `first` to `last`, both included (UTC)."""

    first: date
    last: date

    def __post_init__(self):
        if self.last < self.first:
            raise ValueError(f"The period ends ({self.last}) before it starts ({self.first}); swap the dates.")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"A period may be at most {MAX_DAYS} days long; pick a shorter one.")

    @classmethod
    def last_days(cls, days: int, today: date | None = None) -> Period:
        """The `days` days up to and including today."""
        today = today or datetime.now(UTC).date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, UTC)

    @property
    def end(self) -> datetime:
        """The moment after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def day_of(column, dialect: str) -> ColumnElement:
    """The UTC day of a timestamp column, as SQL (SQLite keeps naive UTC text; PostgreSQL a timestamptz)."""
    if dialect == "sqlite":
        return func.date(column)
    return cast(func.timezone("UTC", column), Date)


def as_date(value) -> date:
    """A day as the database hands it back (SQLite: 'YYYY-MM-DD' text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)
