"""kaika_order_reserve(), order_create's PostgreSQL path: its SQL is purchases/sql/order_reserve.sql
alone, with the status values filled in from the model enums. Installed by migrations, and a
database check says when the deployed function is not the file."""

import re
from functools import cache
from pathlib import Path

from django.core import checks
from django.db import connections
from django.db.backends.postgresql.psycopg_any import sql as pg_sql
from django.db.migrations.executor import MigrationExecutor

from projects.models import AllocationMode, ListingReview, ShopStatus
from purchases.models import OrderStatus

SQL_FILE = Path(__file__).resolve().parent / "sql" / "order_reserve.sql"
NAME = "kaika_order_reserve"
BODY_RE = re.compile(r"\$fn\$(.*)\$fn\$", re.S)


@cache
def function_sql() -> str:
    values = {
        "shop_approved": ShopStatus.APPROVED,
        "listing_approved": ListingReview.APPROVED,
        "order_paid": OrderStatus.PAID,
        "order_pending": OrderStatus.PENDING,
        "round_lottery": AllocationMode.LOTTERY,
    }
    # Quoted as SQL literals by psycopg, never pasted in raw.
    return SQL_FILE.read_text(encoding="utf-8").format(
        **{name: pg_sql.Literal(str(value)).as_string() for name, value in values.items()}
    )


def install(schema_editor) -> None:
    """Create or replace the function from the file (PostgreSQL only: SQLite runs Python)."""
    if schema_editor.connection.vendor == "postgresql":
        # Run as it is, with no parameters: the "%" of %ROWTYPE is never a placeholder.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(function_sql())


def _migrations_pending(connection) -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@checks.register(checks.Tags.database)
def check_deployed_function(app_configs=None, databases=None, **kwargs):
    """`manage.py check --database default` after a deployment: the function the database
    runs is the file's (a changed file needs a migration that calls install again)."""
    errors = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql" or _migrations_pending(connection):
            continue  # `migrate` runs this check first; its migrations install the function
        with connection.cursor() as cursor:
            cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [NAME])
            deployed = [row[0] for row in cursor.fetchall()]
        expected = BODY_RE.search(function_sql()).group(1)
        if deployed != [expected]:
            errors.append(
                checks.Error(
                    f"{NAME}() in database {alias!r} is not purchases/sql/order_reserve.sql "
                    f"({len(deployed)} found).",
                    hint="Add a migration that runs purchases.reserve.install.",
                    id="purchases.E001",
                )
            )
    return errors
