from django.conf import settings
from django.core.management.base import BaseCommand

from kaika.cache import public_paths

HEADER = (
    "# The paths nginx may look up and store (deploy/nginx.conf.template): every view marked\n"
    "# kaika.cache.public_page. Written by `manage.py nginx_public_paths --write`; a test fails\n"
    "# when it no longer matches the URLconf.\n"
)


class Command(BaseCommand):
    help = "Print (or --write) deploy/public_paths.map from the views marked public_page."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="write the file")

    def handle(self, *args, write=False, **options):
        text = render()
        if write:
            (settings.BASE_DIR / "deploy" / "public_paths.map").write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")


def render() -> str:
    lines = [f'"~{path}" "";' for path in public_paths()]
    return HEADER + "\n".join(lines) + "\n"
