"""Core statements run straight on the database driver: the hot path of every turn and every poll.

SQLAlchemy's execution machinery (parameter processing per call, a result object and its metadata,
events) was about a third of a Direct Line turn, for the seven statements a turn and its poll run. A
`Prepared` statement is compiled once per database dialect (and, for inserts and updates, per set of
columns given); a call then hands the SQL and its parameters to the driver's cursor. Values go through
the column types' own bind and result processors, so what is written and read is exactly what Core and
the ORM write and read (JSON text, SQLite's datetime strings), and driver errors are raised as
SQLAlchemy's (IntegrityError, OperationalError...), which `retry.in_transaction` knows.

Statements run on a SQLAlchemy Connection's driver connection, within whatever transaction that
Connection (or the ORM session owning it) has begun, so commit and rollback stay with them. Engine
events (`before_cursor_execute`, SQL echo) do not see these statements.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: Sequence[str] | None  # the parameters in order for positional drivers (SQLite); None: by name
    binds: dict[str, Callable[[Any], Any]]
    fixed: dict[str, Any]  # values the statement carries itself (literals in its WHERE clause)
    defaults: dict[str, Any]  # the Python-side defaults of columns a write leaves out (ColumnDefault)
    row: type | None  # a named tuple of the selected columns
    results: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        binds = self.binds
        if self.fixed or self.defaults:
            values = {**self.fixed, **{name: default.arg if default.is_scalar else default.arg(None)
                                       for name, default in self.defaults.items() if name not in values}, **values}
        if self.names is not None:
            return [binds[name](values[name]) if name in binds else values[name] for name in self.names]
        return {name: binds[name](value) if name in binds else value for name, value in values.items()}


class Prepared:
    """A Core statement (select, insert or update) compiled once per dialect and run on the driver."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._compiled: dict[tuple, _Compiled] = {}

    def rows(self, connection: Connection, values: Mapping[str, Any]) -> list[tuple]:
        """The rows a select returns, as named tuples of its columns, values converted by their types."""
        compiled = self._compile(connection.dialect, None)
        cursor = self._run(connection, compiled, values)
        results = compiled.results
        if any(results):
            return [compiled.row(*[value if convert is None else convert(value)
                                   for convert, value in zip(results, row, strict=True)]) for row in cursor.fetchall()]
        return [compiled.row(*row) for row in cursor.fetchall()]

    def first(self, connection: Connection, values: Mapping[str, Any]) -> tuple | None:
        rows = self.rows(connection, values)
        return rows[0] if rows else None

    def write(self, connection: Connection, values: Mapping[str, Any]) -> int:
        """Run an insert or update with the columns `values` names; the number of rows it matched."""
        compiled = self._compile(connection.dialect, tuple(values))
        return self._run(connection, compiled, values).rowcount

    def write_many(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run an insert once per row (one driver executemany); every row names the same columns."""
        rows = list(rows)
        compiled = self._compile(connection.dialect, tuple(rows[0]))
        self._run(connection, compiled, rows, many=True)

    def _run(self, connection: Connection, compiled: _Compiled, values, many: bool = False):
        dialect = connection.dialect
        driver = connection.connection.dbapi_connection
        cursor = driver.cursor()
        try:
            if many:
                cursor.executemany(compiled.sql, [compiled.parameters(row) for row in values])
            else:
                cursor.execute(compiled.sql, compiled.parameters(values))
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, driver, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(compiled.sql, values, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=dialect) from error
        return cursor

    def _compile(self, dialect: Dialect, columns: tuple[str, ...] | None) -> _Compiled:
        key = (dialect, columns)
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(columns) if columns else None)
            binds = {}
            for name, parameter in compiled.binds.items():
                process = parameter.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    binds[name] = process
            fixed = {name: parameter.effective_value for name, parameter in compiled.binds.items()
                     if parameter.value is not None or parameter.callable is not None}
            defaults = {column.key: column.default for column in compiled.insert_prefetch}
            defaults.update((column.key, column.onupdate) for column in compiled.update_prefetch)
            selected = getattr(self.statement, "selected_columns", None)
            row = namedtuple("Row", [column.key for column in selected]) if selected is not None else None
            results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                            for column in selected) if selected is not None else ()
            found = self._compiled[key] = _Compiled(str(compiled), compiled.positiontup, binds, fixed,
                                                        defaults, row, results)
        return found
