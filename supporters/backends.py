"""The authentication backends of settings.AUTHENTICATION_BACKENDS: Django's and allauth's,
each finding the signed-in user of a session with one written-out SELECT.

Every signed-in request loads its user (AuthenticationMiddleware -> get_user). Through the ORM
that was 0.95 ms of CPU on the benchmark machine, of which the query's building was most;
the same row read by a SELECT built once costs 0.24 ms (docs/benchmarks.md). Everything else
(authenticate, permissions, allauth's email login) is the parents' own. Django still checks
the session's auth hash and the user's is_active, as with the parents.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import ValidationError
from django.db import connection

from kaika import rows
from supporters.models import User

_USER_BY_PK = (
    f"SELECT {', '.join(rows.columns(User, 'u'))} "  # noqa: S608 (the model's own columns)
    f"FROM {User._meta.db_table} u WHERE u.id = %s"
)


def user_by_pk(user_id) -> User | None:
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_USER_BY_PK, [pk])
        row = cursor.fetchone()
    return None if row is None else rows.instance(User, iter(row))


class SessionUserMixin:
    def get_user(self, user_id):
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(SessionUserMixin, DjangoModelBackend):
    pass


class AuthenticationBackend(SessionUserMixin, AllauthBackend):
    pass
