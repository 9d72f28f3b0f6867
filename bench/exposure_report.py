"""Benchmark: the affected-supporter report over 10 million exposure log rows, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kaika_bench \
        /work/main/.venv/bin/python bench/exposure_report.py [--rows 10000000] [--users 200000]

Creates the database if missing, migrates it, fills it with INSERT ... SELECT generate_series
(members, then log rows spread over a week, with the 9:00 rush of 31 August 2021 inside),
then times the report for the 2021 window (8:50-9:09) and for a whole day. Not a test: it is
kept out of the suite (no test_ prefix, outside tests/). Figures go to docs/benchmarks.md.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kaika_bench")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def timed(label: str, fn):
    began = time.perf_counter()
    result = fn()
    print(f"{label}: {time.perf_counter() - began:.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="reuse the rows already there")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ops.models import ExposureLog
    from ops.reports import exposure_report, parse_window

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        if not args.keep:
            cursor.execute("TRUNCATE ops_exposurelog, supporters_user CASCADE")
            timed(
                f"insert {args.users:,} members",
                lambda: cursor.execute(
                    """
                    INSERT INTO supporters_user (id, password, is_superuser, email, family_name,
                        given_name, family_name_kana, given_name_kana, gender, occupation,
                        company_name, postal_code, prefecture, city, street_address, building,
                        phone, is_staff, is_active, date_joined)
                    SELECT i, '!', false, 'member' || i || '@example.jp', '山田', '花子' || i,
                        'ヤマダ', 'ハナコ', 'female', 'employee', '', '7530001', '35', '山口市',
                        '亀山町1-1', '', '09012345678', false, true, now()
                    FROM generate_series(1, %s) AS i
                    """,
                    [args.users],
                ),
            )
            # Indexes built once after the load: far faster than maintaining them per row.
            for index in ExposureLog._meta.indexes:
                cursor.execute(f'DROP INDEX IF EXISTS "{index.name}"')
            # A week of traffic ending on 2021-09-03, one row about every 60 ms on average,
            # plus the rush: 200,000 extra rows between 8:50 and 9:10 on 31 August.
            timed(
                f"insert {args.rows:,} log rows",
                lambda: cursor.execute(
                    """
                    INSERT INTO ops_exposurelog (at, action, subject_id, subject_email_hash,
                        viewer_session_hash, request_id, client_ip)
                    SELECT
                        CASE WHEN i %% 50 = 0
                            THEN timestamptz '2021-08-31 08:50+09' + (i %% 1200) * interval '1 s'
                            ELSE timestamptz '2021-08-27 00:00+09'
                                 + (i::float8 / %(rows)s) * interval '7 days'
                        END,
                        (ARRAY['login','signup','mypage','profile_viewed','profile_updated',
                               'contact_sent','login_failed','inquiries'])[1 + i %% 8],
                        CASE WHEN i %% 10 = 7 THEN NULL ELSE 1 + (i * 7919) %% %(users)s END,
                        md5(i::text) || md5((i + 1)::text),
                        md5((i / 5)::text) || md5((i / 5 + 1)::text),
                        md5(i::text),
                        '10.0.0.1'::inet + (i %% 65000)
                    FROM generate_series(1::bigint, %(rows)s) AS i
                    """,
                    {"rows": args.rows, "users": args.users},
                ),
            )
            with connection.schema_editor() as editor:
                for index in ExposureLog._meta.indexes:
                    timed(
                        f"create index {index.name}",
                        lambda i=index: editor.add_index(ExposureLog, i),
                    )
            timed("vacuum analyze", lambda: cursor.execute("VACUUM ANALYZE ops_exposurelog"))
        cursor.execute("SELECT count(*) FROM ops_exposurelog")
        print(f"log rows: {cursor.fetchone()[0]:,}")

    for label, start, end in [
        ("2021 window 08:50-09:09", "2021-08-31 08:50", "2021-08-31 09:09"),
        ("one whole day", "2021-08-31 00:00", "2021-08-31 23:59"),
    ]:
        window = parse_window(start, end)
        for attempt in ("first run", "second run"):
            report = timed(
                f"report {label} ({attempt})",
                lambda w=window: exposure_report(start=w[0], end=w[1]),
            )
        print(f"  responses {report.total:,}, members {len(report.subjects):,}")
    print("command: manage.py exposure_report --from '2021-08-31 08:50' --to '2021-08-31 09:09'")


if __name__ == "__main__":
    main()
