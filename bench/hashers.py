"""Password checks per second on this machine, in-process, every core busy (one process per
core): the configured hasher (Argon2id, kaika.hashers) against Django's default PBKDF2.

    python -m bench.hashers SECONDS   -> JSON on stdout
"""

import json
import os
import sys
import time
from multiprocessing import Pool

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaika.settings")
django.setup()

from django.contrib.auth.hashers import (  # noqa: E402
    PBKDF2PasswordHasher,
    check_password,
    get_hasher,
    make_password,
)

PASSWORD = "bench-password-2026"  # noqa: S105


def checks_for(args: tuple[str, float]) -> tuple[int, float]:
    encoded, seconds = args
    done, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds or done < 2:
        if not check_password(PASSWORD, encoded):
            raise SystemExit("the benchmark's own password did not check")
        done += 1
    return done, time.process_time() - cpu


def rate(encoded: str, seconds: float, cores: int) -> dict:
    with Pool(cores) as pool:
        started = time.perf_counter()
        results = pool.map(checks_for, [(encoded, seconds)] * cores)
        wall = time.perf_counter() - started
    total = sum(n for n, _ in results)
    cpu = sum(t for _, t in results) / total
    # per_second is what this machine did, shared with whatever else ran; cpu_seconds_per_check
    # does not depend on that, and cores / it is the rate with every core given to logins.
    return {
        "checks": total,
        "per_second": total / wall,
        "cpu_seconds_per_check": cpu,
        "per_second_all_cores": cores / cpu,
    }


def main(seconds: float) -> dict:
    cores = len(os.sched_getaffinity(0))
    configured = get_hasher("default")
    return {
        "cores": cores,
        "configured": {
            "algorithm": configured.algorithm,
            **rate(make_password(PASSWORD), seconds, cores),
        },
        "pbkdf2": {
            "algorithm": "pbkdf2_sha256",
            "iterations": PBKDF2PasswordHasher.iterations,
            **rate(make_password(PASSWORD, hasher=PBKDF2PasswordHasher()), seconds, cores),
        },
    }


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0)))
