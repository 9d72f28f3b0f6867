from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idOwaspHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum: 19 MiB of memory, 2 iterations, parallelism 1.

    Django 6.1's PBKDF2 default (1.5M iterations) took 0.6 s per check on a 2-core machine,
    about 3 logins a second for the whole box; this takes a few tens of milliseconds.
    The algorithm name stays "argon2", so Django upgrades hashes whose parameters differ.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
