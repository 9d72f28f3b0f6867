"""Many rows at once through PostgreSQL's COPY: a lottery's winners' orders and allotments
(tens of thousands in one draw) without a model instance per row or an INSERT's parameters
quoted in Python, which together made most of a 100,000-application draw (docs/benchmarks.md,
"Lottery"). Elsewhere (SQLite) bulk_create."""

from django.db import connection
from django.db.models import Model


def insert_many(model: type[Model], rows: list[dict]) -> list[int]:
    """Insert `rows` (field name -> value as the database takes it: ids for foreign keys,
    aware datetimes; every row the same fields; the model's defaults for the others) and
    return their primary keys, in the rows' order."""
    if not rows:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return [obj.pk for obj in created]
    quote = connection.ops.quote_name
    given = list(rows[0])
    template = model()
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    constants = {
        f.name: f.get_db_prep_save(f.pre_save(template, True), connection)
        for f in fields
        if f.name not in given
    }
    with connection.cursor() as cursor:
        # The keys first, from the table's own sequence: COPY returns none.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        columns = ", ".join([quote(meta.pk.column), *(quote(f.column) for f in fields)])
        names = [f.name for f in fields]
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row([pk, *(row[n] if n in row else constants[n] for n in names)])
    return ids
