import json

from django.core.management.base import BaseCommand, CommandError

from lottery.draw import passes_replay, seed_hash


class Command(BaseCommand):
    help = (
        "Re-run a lottery's draw from its published list of applications (the JSON of the "
        "round's lottery page) and its revealed seed, and compare with the published winners "
        "(and, with --round, with the allotments recorded in this database)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--applications", required=True, help="the published JSON file")
        parser.add_argument("--seed", help="the revealed seed (default: the one in the file)")
        parser.add_argument("--round", type=int, help="a round id: compare with the database too")

    def handle(self, *args, applications, seed=None, round=None, **options):
        try:
            with open(applications, encoding="utf-8") as file:
                published = json.load(file)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {applications}: {error}") from None
        seed = seed or published.get("seed")
        if not seed:
            raise CommandError("No seed: it is published after the draw (give --seed).")
        if seed_hash(seed) != published["seed_sha256"]:
            raise CommandError("The seed does not match the SHA-256 published before the draw.")
        replayed = passes_replay(published, seed)
        mismatches = 0
        for draw_pass, result in zip(published["passes"], replayed, strict=True):
            expected = {
                applicant: {int(k): v for k, v in lines.items()}
                for applicant, lines in draw_pass["allotments"].items()
            }
            if expected != result:
                mismatches += 1
                self.stderr.write(f"pass {draw_pass['number']}: the published winners differ")
        if round is not None:
            from lottery.models import LotteryRound
            from lottery.services import lottery_publication

            lottery = LotteryRound.objects.filter(round_id=round).first()
            if lottery is None:
                raise CommandError(f"No lottery for round {round}.")
            recorded = lottery_publication(lottery)
            if recorded["applications"] != published["applications"] or [
                p["allotments"] for p in recorded["passes"]
            ] != [p["allotments"] for p in published["passes"]]:
                mismatches += 1
                self.stderr.write("the database's applications or allotments differ")
        if mismatches:
            raise CommandError("Verification failed.")
        winners = sum(len(result) for result in replayed)
        self.stdout.write(
            f"OK: {len(published['applications'])} applications, {len(replayed)} pass(es), "
            f"{winners} allotment(s) reproduced."
        )
