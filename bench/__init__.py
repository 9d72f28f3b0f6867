"""The launch-spike benchmark (issue 8): `make bench`. Never imported by the site (its URLs
are the root URLconf only where KAIKA_BENCH is on), never run in CI, and nothing here is a test."""
