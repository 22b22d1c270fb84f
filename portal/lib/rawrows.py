"""Model instances from plain SQL, as the ORM builds them, for a page's hot queries.

Building a query through the ORM (``filter().select_related().annotate().order_by()``) costs a page
about 1 to 2 ms of CPU per query, more than PostgreSQL takes to run it. A hot query is then written as
SQL: :func:`columns` names every column of a model under a table alias, and a :class:`Reader` turns
those values of a row into an instance the way the ORM's ``select_related`` does (each value through
the converters the ORM applies to its column, then ``Model.from_db``); a :class:`Column` converts an
extra column as the ORM converts an annotation.

Callers write fixed SQL text with ``%s`` parameters (never values in the text) and keep a test that
compares their rows with the ORM's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]

#: Per model, table alias and database vendor: the quoted column list and which of the model's fields
#: the ORM converts (most need nothing; both are the same for every query, only the connection differs).
_PLANS: dict[tuple[type[Model], str, str], tuple[str, tuple[int, ...]]] = {}


def _converters(col: Col, connection: BaseDatabaseWrapper) -> list[Converter]:
    """The converters the ORM applies to ``col``'s values (the backend's, then the field's)."""
    return [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]


def _plan(model: type[Model], alias: str, connection: BaseDatabaseWrapper) -> tuple[str, tuple[int, ...]]:
    key = (model, alias, connection.vendor)
    plan = _PLANS.get(key)
    if plan is None:
        quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        text = ", ".join(f"{quote(alias)}.{quote(f.column or f.attname)}" for f in fields)
        converted = tuple(i for i, f in enumerate(fields) if _converters(f.get_col(alias), connection))
        plan = _PLANS[key] = (text, converted)
    return plan


def columns(model: type[Model], alias: str, connection: BaseDatabaseWrapper) -> str:
    """``alias.column`` of every concrete field of ``model``, in the model's field order (quoted)."""
    return _plan(model, alias, connection)[0]


class Column:
    """An extra column (an annotation's) whose values are converted as the ORM converts an annotation
    with output field ``field``."""

    def __init__(self, field: Field[Any, Any], connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.col = Col("", field)
        self.converters = _converters(self.col, connection)

    def __call__(self, value: Any) -> Any:
        for convert in self.converters:
            value = convert(value, self.col, self.connection)
        return value


class Reader(Generic[M]):
    """Instances of ``model`` from the values of :func:`columns` (with the ORM's conversions)."""

    def __init__(self, model: type[M], alias: str, connection: BaseDatabaseWrapper) -> None:
        self.model = model
        self.db = connection.alias
        self.connection = connection
        fields = model._meta.concrete_fields
        self.width = len(fields)
        self.attnames = [f.attname for f in fields]
        self._convert: list[tuple[int, Col, list[Converter]]] = []
        for i in _plan(model, alias, connection)[1]:
            col = fields[i].get_col(alias)
            self._convert.append((i, col, _converters(col, connection)))

    def __call__(self, values: Sequence[Any]) -> M:
        """The instance of the first ``width`` values (the row's slice for this model)."""
        row = list(values[: self.width])
        for i, col, converters in self._convert:
            value = row[i]
            for convert in converters:
                value = convert(value, col, self.connection)
            row[i] = value
        return self.model.from_db(self.db, self.attnames, row)
