import shutil
import subprocess

import psycopg
import pytest
from django.db import connection

from tests.conftest import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def conninfo(dbname: str) -> str:
    s = connection.settings_dict
    return (
        f"postgresql://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
        f"/{dbname}"
    )


def row_counts(dbname: str) -> dict[str, int]:
    with psycopg.connect(conninfo(dbname), autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_a_dump_restores_into_a_new_database_with_every_row(tmp_path):
    assert shutil.which("pg_dump") and shutil.which("pg_restore")
    for _ in range(5):
        make_user()
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "kaika.dump"
    restored = f"{source}_restored"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", conninfo(source)],
        check=True,
    )
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        conn.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                f"--dbname={conninfo(restored)}",
                str(dump),
            ],
            check=True,
        )
        original, copy = row_counts(source), row_counts(restored)
        assert copy == original
        assert original["supporters_user"] == 5
        assert len(original) > 10
    finally:
        with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
