"""The launch-spike benchmark (issue 8): `make bench`. Never imported by the site unless
KAIKA_BENCH is on, never run in CI, and nothing here is a test."""
