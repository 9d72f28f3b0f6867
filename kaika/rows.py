"""Model instances from rows read with written-out SQL, for the few reads on the 9:00 path
where building the query through the ORM cost more than running it (docs/benchmarks.md).

`columns(model, alias)` lists every concrete column of a model for a SELECT, and
`instance(model, values)` turns the same number of values into the instance the ORM would have
made: each value goes through the backend's and the field's converters first (SQLite returns
datetimes as text and booleans as integers), and no attribute is left to load later.
"""

from collections.abc import Iterator

from django.db import connection


def columns(model, alias: str) -> list[str]:
    return [f'{alias}."{field.column}"' for field in model._meta.concrete_fields]


def instance(model, values: Iterator):
    """The next len(concrete_fields) of `values` as an instance of `model`."""
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    return model.from_db(connection.alias, names, [_converted(next(values), f) for f in fields])


def _converted(value, field):
    column = field.get_col(field.model._meta.db_table)
    for converter in connection.ops.get_db_converters(column) + column.get_db_converters(
        connection
    ):
        value = converter(value, column, connection)
    return value
