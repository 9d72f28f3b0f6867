"""The threads of the race tests: work(i) in `count` threads released at the same instant."""

import threading

from django.db import connection

from kaika.errors import DomainError


def race(count: int, work, *, expect: tuple[type[BaseException], ...] = ()) -> list:
    """Each thread's outcome: its return value, the code of the domain error it raised, or
    the exception itself when it is of a type in `expect` (what a negative control shows, an
    IntegrityError say). Any other exception fails the test."""
    barrier = threading.Barrier(count, timeout=60)
    outcomes: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except DomainError as error:
            outcomes[i] = error.code
        except Exception as error:  # kept if expected; otherwise surfaced below
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unexpected = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, expect)]
    assert not unexpected, unexpected[:3]
    return outcomes
