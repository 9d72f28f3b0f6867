"""gunicorn for kaika: `gunicorn -c deploy/gunicorn.conf.py kaika.wsgi`.

Sized from the cores this process may use; every number can be overridden from the
environment (GUNICORN_*), which is how the live leak test and `make serve` set their own.
"""

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# The cores this process may run on (a container's CPU set, not the host's count).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")

# gthread: one process per core does the Python work (the GIL allows no more per process);
# threads overlap the waits on PostgreSQL and Redis. Each process has its own connection pool
# (DB_POOL_MAX), so PostgreSQL sees at most workers x DB_POOL_MAX connections per node.
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", max(2, CORES))
threads = _int("GUNICORN_THREADS", 4)
# Queued connections beyond the threads wait here rather than being refused at 9:00.
backlog = _int("GUNICORN_BACKLOG", 2048)

# Never load the app before forking: Django's connection pool and the Redis client must be
# created in each worker, not shared by every worker through one inherited socket.
preload_app = False

# A request that takes longer than this is a bug or a stuck dependency: the worker is
# replaced. On SIGTERM (deploy, `make serve` stopping) requests in flight get
# graceful_timeout seconds to finish before the workers are killed.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# nginx keeps connections to us open (upstream keepalive, closed by nginx after 60 s idle).
# We must outlive that: if gunicorn closed first, nginx could send a POST on a connection
# that is being closed and answer 502 (it never retries non-idempotent requests).
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then so a slow leak never grows for days; jitter keeps them from
# all restarting at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)

# Only nginx on this machine may tell us the scheme (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs on stdout/stderr for the supervisor (systemd, make serve). The request id is the one
# nginx generated (X-Request-ID), so a line here and in nginx's log are the same request.
# Path only (%(U)s, not %(r)s): query strings may hold personal data.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = (
    '%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}i)s'
)

proc_name = "kaika"

# gunicorn >= 25 opens a control socket at one fixed path per user (~/.gunicorn/gunicorn.ctl):
# two gunicorns on one machine (make serve, the live leak test, a second node) would take
# each other's. kaika does not use gunicornc; give a path to have it.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
