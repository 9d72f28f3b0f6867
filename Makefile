# The README's commands are targets here: `make run` and `make test`.
# Django 6.1 needs Python >= 3.12; the machine's python3 may be older, so find one that fits.
PYTHON ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3.13 \
	$$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12 python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run serve test bench bench-settlement bench-waitroom install lint format check messages clean constraints

# The versions installed are the ones pinned in constraints.txt (what the suite passed with).
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (python3.13 or python3.12)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Compiles locale/*/LC_MESSAGES/*.po; needs no settings (and so no SECRET_KEY).
messages: install
	cd $(CURDIR) && env -u DJANGO_SETTINGS_MODULE $(VENV)/bin/django-admin compilemessages 		--ignore '.venv' -v 0

# The site on its embedded default: SQLite file, local-memory cache, console email, demo data.
run: install messages
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

# The production stack on loopback (deploy/serve.py): nginx with the microcache on :8080,
# gunicorn, the task worker, PostgreSQL and Redis from DATABASE_URL / REDIS_URL; DEBUG off.
serve: install messages
	$(PY) -m deploy.serve

# The launch-spike benchmark (issue 8, bench/run.py): its own database (kaika_bench, rebuilt
# each run) and Redis db 9, the production stack on loopback, wrk and locust; writes
# docs/benchmarks.md and docs/benchmarks.png. A few minutes on 2 cores. Never run in CI.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	touch $@

bench: $(VENV)/.bench-installed messages
	$(PY) -m bench.run

# Settling with shops at full size (issue 22, bench/settlement.py): its own database
# (kaika_bench_settlement, rebuilt each run), 3,200 shops and 1,000,000 redemptions, the run,
# the approvals and the bank file timed and checked; writes its section of docs/benchmarks.md.
# About 20 minutes on 2 cores. Never run in CI.
bench-settlement: install messages
	$(PY) -m bench.settlement

# The waiting room at 9:00 (issue 23, bench/waitroom.py): fairness, the waiting page against
# the static file, the till with and without the wave, the crowd of 20,000 signed-in visitors
# ordering (about 8 minutes on 2 cores). Its own database; figures printed and in
# .bench/waitroom.json (docs/benchmarks.md, "Waiting room", by hand).
bench-waitroom: $(VENV)/.bench-installed messages
	$(PY) -m bench.waitroom

# The whole suite. Uses DATABASE_URL / REDIS_URL when set, else a reachable local
# PostgreSQL / Redis, else SQLite and local memory (service-only tests skip, saying why).
test: install messages
	DJANGO_SETTINGS_MODULE=kaika.settings_test $(PY) -m pytest $(PYTEST_ARGS)

# Every dependency to the newest version pyproject.toml allows, resolved in a scratch
# environment and pinned in constraints.txt (its first lines kept). Then `make test`, and
# commit constraints.txt.
constraints:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (python3.13 or python3.12)."; exit 1; }
	rm -rf .venv-resolve
	$(PYTHON) -m venv .venv-resolve
	.venv-resolve/bin/python -m pip install --quiet --upgrade pip
	.venv-resolve/bin/python -m pip install --quiet -e ".[dev,bench]"
	{ grep '^#' constraints.txt; .venv-resolve/bin/python -m pip freeze --exclude-editable; } \
		> constraints.new && mv constraints.new constraints.txt
	rm -rf .venv-resolve

# ruff, then the import contracts in pyproject.toml ([tool.importlinter]).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 .serve .bench .grimp_cache .import_linter_cache
