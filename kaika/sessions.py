"""Django's cached_db sessions, written once per new key instead of twice (issue 8).

Every login makes a new session key (`cycle_key`, so a key known before the login is worth
nothing after it). Django's stores then ask PostgreSQL whether the random key exists, INSERT an
empty row and publish it to Redis, and at the end of the same request UPDATE the row with the
login's data and publish it again. Here a new key is only chosen; the row is INSERTed once, by
the save at the end of the request, with its data. A collision (32 characters of 36: never
seen in practice) is caught by that INSERT, which fails on the primary key, and the save picks
another key and tries again, as Django's own `create()` does.

The difference from Django's contract: after `create()` the row does not exist yet. Nothing in
kaika needs it before the response: the key is sent to the browser only by the middleware,
after the save, and a request that fails (5xx) is not saved by Django either.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.utils.crypto import get_random_string


class SessionStore(CachedDbStore):
    # True from `create()` until the row has been INSERTed.
    _unsaved_key = False

    def _get_new_session_key(self) -> str:
        # No existence check: the INSERT in `save` is the check (the primary key).
        return get_random_string(32, VALID_KEY_CHARS)

    def create(self) -> None:
        self._session_key = self._get_new_session_key()
        self._unsaved_key = True
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
        if not self._unsaved_key:
            super().save(must_create=must_create)
            return
        while True:
            try:
                super().save(must_create=True)
            except CreateError:
                self._session_key = self._get_new_session_key()
                continue
            self._unsaved_key = False
            return
