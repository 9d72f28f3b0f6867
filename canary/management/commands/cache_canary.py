from django.core.management.base import BaseCommand, CommandError

from canary.services import CanaryError, cache_canary_run


class Command(BaseCommand):
    help = (
        "Before launch: canary accounts sign in through the front at --base-url and hit every "
        "per-user page at the same instant; exits 1 if any response carried another canary's "
        "data or session, or came from the shared cache."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="http://127.0.0.1:PORT")
        parser.add_argument("--canaries", type=int, default=10)
        parser.add_argument("--passes", type=int, default=1)

    def handle(self, *args, base_url, canaries, passes, **options):
        try:
            result = cache_canary_run(base_url=base_url, count=canaries, passes=passes)
        except (CanaryError, AssertionError) as error:
            # A login that fails through the front is itself a finding (a cached form...).
            raise CommandError(
                f"FAIL: the canary could not run through {base_url}: {error}"
            ) from error
        for path, statuses in result.public_statuses.items():
            self.stdout.write(f"public {path}: {dict(statuses)}")
        self.stdout.write(
            "Public pages are served from the shared cache."
            if result.public_cached
            else "Public pages are not cached by the front."
        )
        if not result.passed:
            raise CommandError("FAIL: personal data crossed between canaries\n" + result.summary)
        self.stdout.write(f"PASS: {result.requests} requests, no canary saw another's data.")
