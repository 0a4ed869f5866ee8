"""A compiled statement as plain data: its SQL and the order its parameters bind in.

Without SQLAlchemy, so that the append process (:mod:`legato.store.sql.offload_child`)
runs the statements the store compiled without importing it: a :class:`Prepared` travels
as :meth:`Prepared.spec` (JSON) and is rebuilt with :meth:`Prepared.from_spec`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["ARRAYS_FROM", "Prepared"]

ARRAYS_FROM = 8
"""Rows from which a PostgreSQL statement binds one array per column (below that, dumping
arrays costs psycopg more than it saves)."""


class Prepared:
    """One statement and how to bind rows (mappings of parameter names) to it, positionally;
    on PostgreSQL also its one-array-per-column form, used from :data:`ARRAYS_FROM` rows on.
    Binding positionally, with one ``itemgetter``, spares the driver a string per value."""

    __slots__ = ("_array_params", "_arrays", "_names", "_params", "sql")

    def __init__(
        self,
        sql: str,
        names: Sequence[str],
        arrays: str | None = None,
        array_names: Sequence[str] = (),
    ) -> None:
        self.sql = sql
        self._names = (list(names), list(array_names))
        self._params = _getter(names)
        # Arrays go in psycopg's binary format: its text format escapes every element
        # with a regular expression, in Python.
        self._arrays = arrays.replace("%s", "%b") if arrays is not None else None
        self._array_params = _getter(array_names) if arrays is not None else self._params

    def spec(self) -> list[Any]:
        """This statement as JSON-safe data (:meth:`from_spec` rebuilds it)."""
        arrays = self._arrays.replace("%b", "%s") if self._arrays is not None else None
        return [self.sql, self._names[0], arrays, self._names[1]]

    @classmethod
    def from_spec(cls, spec: Sequence[Any]) -> Prepared:
        sql, names, arrays, array_names = spec
        return cls(sql, names, arrays, array_names)

    def execute(self, cursor: Any, row: Mapping[str, Any]) -> None:
        """Run the statement once."""
        cursor.execute(self.sql, self._params(row))

    def executemany(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement for every row, in order."""
        if not rows:
            return
        if self._arrays is not None and len(rows) >= ARRAYS_FROM:
            columns = zip(*map(self._array_params, rows), strict=True)
            cursor.execute(self._arrays, [list(c) for c in columns])
        else:
            cursor.executemany(self.sql, list(map(self._params, rows)))


def _getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if not names:
        return lambda _row: ()
    getter = operator.itemgetter(*names)
    if len(names) == 1:
        return lambda row: (getter(row),)
    return getter
