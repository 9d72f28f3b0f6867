"""The waiting room's queue, in Redis alone (the waiting page never touches PostgreSQL).

Per round: a pre-queue set filled before the opening, shuffled once at the opening with
`secrets.SystemRandom`; then a sorted set in which later arrivals follow first in, first out;
a sorted set of the passes alive (visitor -> expiry) and a token bucket that admits the head
of the queue at the configured rate, never beyond the configured number of live passes. Each
step that reads and writes is one Lua script, so concurrent processes cannot admit twice.
Redis unreachable is `RoomClosed`: admission stops, it never opens to everyone.

Each visitor's score in the queue is their ticket number: 0, 1, 2, ... in the shuffled order,
then on in arrival order, with no gaps (the head is only ever popped). So the number let in so
far (`popped`) says everyone's place: place = ticket - popped + 1. That number is the same for
everyone, which is what lets the front answer the waiting crowd without the app (`queue_line`,
the public line); the pre-queue's drawn order is published the same way, by pseudonym
(`place_name`), in 256 parts. A per-round hash says what is gone (listings found sold out,
the round ended), for the line and the page to tell the crowd: a notice, never a block.
"""

import dataclasses
import functools
import hashlib
import secrets

import redis
from django.conf import settings

from kaika.debug import pause_after_checks

# The drawn order is published in parts, by the first two hex digits of the place name (256
# parts): a browser fetches its own part, about 40 names for 10,000 in the pre-queue.
PART_DIGITS = 2
# How long unused admissions keep: about the longest gap between two reloads of the page.
BURST_SECONDS = 10
# The field of a round's `gone` hash that says the round can sell nothing more (budget spent,
# round closed); its other fields are the ids of listings found sold out.
ENDED = "ended"


class RoomClosed(Exception):
    """Redis cannot be reached: nobody is admitted until it is back."""


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def client() -> redis.Redis:
    url = settings.WAITINGROOM_REDIS_URL
    if not url:
        raise RoomClosed("WAITINGROOM_REDIS_URL is not set")
    return _client(url)


@dataclasses.dataclass(frozen=True)
class Keys:
    round_id: int

    def _key(self, name: str) -> str:
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "kaika")
        # One hash slot per round ({...}), should Redis ever be a cluster.
        return f"{prefix}:wr:{{{self.round_id}}}:{name}"

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._key(name)

    def all(self) -> list[str]:
        names = ("conf", "pre", "frozen", "queue", "live", "used", "bucket", "seq", "popped")
        more = ("base", "places", "shuffled", "ready", "lock", "gone")
        return [self._key(n) for n in (*names, *more)]

    def scripts(self) -> list[str]:
        """The keys of VISIT and LINE, in their KEYS order."""
        names = ("conf", "pre", "queue", "live", "bucket", "seq", "shuffled", "ready", "popped")
        return [self._key(n) for n in (*names, "base", "gone")]


# What VISIT and LINE share: the room's settings, and letting the head in at the configured
# pace (a token bucket), never beyond the live passes allowed. KEYS as in Keys.scripts().
ROOM = """
local conf = redis.call('HMGET', KEYS[1], 'enabled', 'window', 'opens', 'rate', 'max', 'ttl',
                        'paused', 'project')
if not conf[1] then return {'unknown'} end
if conf[1] ~= '1' then return {'disabled'} end
local now = tonumber(ARGV[1])
local window, opens = tonumber(conf[2]), tonumber(conf[3])
local rate, max, ttl = tonumber(conf[4]), tonumber(conf[5]), tonumber(conf[6])
local paused = conf[7] == '1'

-- Where the round stands: 'early' (the room is not open), 'pre' (before the opening, the
-- pre-queue not yet frozen), 'shuffle' (the order not drawn yet), else nil (the queue).
local function phase()
  if now < window then return 'early' end
  if now < opens and redis.call('EXISTS', KEYS[7]) == 0 then return 'pre' end
  if redis.call('EXISTS', KEYS[8]) == 0 then return 'shuffle' end
  return nil
end

local function admit()
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  if paused then return end
  local bucket = redis.call('HMGET', KEYS[5], 'tokens', 'ts')
  -- Tokens keep for ARGV[2] seconds (the longest gap between two looks at the queue): when
  -- nobody looks for a while, the next look lets in what the pace allowed since, no more.
  local burst = math.max(1, rate * tonumber(ARGV[2]))
  local tokens, ts = tonumber(bucket[1]) or math.max(1, rate), tonumber(bucket[2]) or now
  if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate) end
  local n = math.min(math.floor(tokens), max - redis.call('ZCARD', KEYS[4]))
  if n > 0 then
    local head = redis.call('ZPOPMIN', KEYS[3], n)
    for i = 1, #head, 2 do redis.call('ZADD', KEYS[4], now + ttl, head[i]) end
    redis.call('INCRBY', KEYS[9], #head / 2)
    tokens = tokens - #head / 2
  end
  redis.call('HSET', KEYS[5], 'tokens', tokens, 'ts', math.max(now, ts))
end
"""

# A visit: join (the pre-queue before the opening, the queue after it, with the next ticket
# number), let the head in, and say where this visitor stands (and whether the listing they
# wait for, ARGV[4], or the whole round, field 'ended' (ENDED), is gone).
VISIT = (
    ROOM
    + """
local v = ARGV[3]
local expiry = redis.call('ZSCORE', KEYS[4], v)
if expiry and tonumber(expiry) > now then return {'admitted', expiry} end
local p = phase()
if p == 'pre' then
  redis.call('SADD', KEYS[2], v)
  return {'pre', redis.call('SCARD', KEYS[2]), conf[3], conf[8] or ''}
end
if p then return {p} end
if expiry then redis.call('ZREM', KEYS[4], v) end
if not redis.call('ZSCORE', KEYS[3], v) then
  local base = tonumber(redis.call('GET', KEYS[10]) or '0')
  redis.call('ZADD', KEYS[3], base + redis.call('INCR', KEYS[6]) - 1, v)
end
admit()
expiry = redis.call('ZSCORE', KEYS[4], v)
if expiry then return {'admitted', expiry} end
return {'waiting', redis.call('ZRANK', KEYS[3], v), tostring(rate), paused and 1 or 0,
        redis.call('ZSCORE', KEYS[3], v), redis.call('HEXISTS', KEYS[11], ARGV[4]),
        redis.call('HEXISTS', KEYS[11], 'ended'), conf[8] or ''}
"""
)

# The public line: the same for everyone (no visitor named), so the front may keep it a
# second and answer the crowd with it; each time it is made, it lets the head in.
LINE = (
    ROOM
    + """
local p = phase()
if p == 'pre' then return {'pre', redis.call('SCARD', KEYS[2]), conf[3]} end
if p then return {p} end
admit()
return {'line', tonumber(redis.call('GET', KEYS[9]) or '0'), redis.call('ZCARD', KEYS[3]),
        tostring(rate), paused and 1 or 0, redis.call('HKEYS', KEYS[11])}
"""
)

# The opening: no more joins to the pre-queue; its members are handed to Python to shuffle.
FREEZE = """
redis.call('SET', KEYS[3], '1')
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('SUNIONSTORE', KEYS[2], KEYS[2], KEYS[1])
    redis.call('DEL', KEYS[1])
  else
    redis.call('RENAME', KEYS[1], KEYS[2])
  end
end
return redis.call('SMEMBERS', KEYS[2])
"""

# An order posted with a pass: the pass is spent (its slot goes to the next visitor). The same
# form posted again (a double click, same idempotency key) passes; another post does not.
SPEND = """
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if expiry and tonumber(expiry) > tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  return 1
end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[3] then return 1 end
return 0
"""

# The order was refused (too many units, sold out): the pass is the visitor's again.
REFUND = """
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""


@dataclasses.dataclass(frozen=True)
class Standing:
    """Where a visitor stands. state: unknown, disabled, early, pre, shuffling, waiting,
    admitted."""

    state: str
    position: int | None = None  # 1-based, in the queue (or the pre-queue's size)
    wait_seconds: int | None = None
    paused: bool = False
    expires_at: float | None = None
    opens_at: float | None = None  # the opening, while in the pre-queue
    ticket: int | None = None  # in the queue: place = ticket - Line.admitted + 1
    sold_out: bool = False  # the listing waited for was found sold out (a notice only)
    ended: bool = False  # the round can sell nothing more (a notice only)
    project: str | None = None  # the project's slug, to lead back to its page


@dataclasses.dataclass(frozen=True)
class Line:
    """The queue as everyone sees it. state: unknown, disabled, early, pre, shuffling, line."""

    state: str
    admitted: int | None = None  # let in so far: tickets below this number
    waiting: int | None = None  # in the queue now
    rate: float | None = None
    paused: bool = False
    pre: int | None = None  # in the pre-queue, before the opening
    opens_at: float | None = None
    sold_out: tuple[int, ...] = ()  # listings found sold out (notices only, as `ended`)
    ended: bool = False


@functools.cache
def _script(r: redis.Redis, source: str):
    return r.register_script(source)


def _run(script: str, keys: list[str], args: list) -> list:
    try:
        return _script(client(), script)(keys=keys, args=args)
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def room_publish(*, round_id: int, conf: dict[str, str]) -> None:
    """What the waiting page needs to know of the room (it reads no database)."""
    k = Keys(round_id)
    try:
        client().hset(k.conf, mapping=conf)
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc


def room_published_version(*, round_id: int) -> str | None:
    try:
        value = client().hget(Keys(round_id).conf, "version")
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc
    return value and _text(value)


def _shuffle_lock(r: redis.Redis, k: Keys) -> bool:
    # One shuffler per round: a second would write another order over the first (and put
    # back whoever had been admitted from it). Its own function so a test can remove it.
    return bool(r.set(k.lock, "1", nx=True, ex=30))


def queue_shuffle(*, round_id: int) -> bool:
    """Shuffle the pre-queue once (the first process to get the lock does it). False when
    another process is doing it now."""
    k = Keys(round_id)
    try:
        r = client()
        if not _shuffle_lock(r, k):
            return False
        members = [_text(m) for m in _run(FREEZE, [k.pre, k.frozen, k.shuffled], [])]
        pause_after_checks()
        # Sorted first so that Redis's set order plays no part; then a uniform shuffle from the
        # operating system's randomness (not guessable, not seeded).
        members.sort()
        secrets.SystemRandom().shuffle(members)
        parts: dict[str, list[str]] = {}
        for i, m in enumerate(members):
            name = place_name(m)
            parts.setdefault(place_part(name), []).append(f"{name}:{i}")
        with r.pipeline(transaction=True) as pipe:
            if members:
                pipe.zadd(k.queue, {m: i for i, m in enumerate(members)})
                pipe.hset(k.places, mapping={part: " ".join(p) for part, p in parts.items()})
            # Later arrivals' tickets follow on from the last drawn place.
            pipe.set(k.base, len(members))
            pipe.delete(k.frozen)
            pipe.set(k.ready, "1")
            pipe.execute()
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc
    return True


def _shuffled(script: str, k: Keys, args: list) -> list | None:
    """Run VISIT or LINE; at the opening the first to see it shuffles the pre-queue. None
    while another process is shuffling."""
    for _ in range(2):
        answer = _run(script, k.scripts(), args)
        if _text(answer[0]) != "shuffle":
            return answer
        if not queue_shuffle(round_id=k.round_id):
            return None
    return None


def queue_visit(
    *, round_id: int, visitor: str, now: float, listing_id: int | None = None
) -> Standing:
    args = [repr(now), BURST_SECONDS, visitor, "" if listing_id is None else str(listing_id)]
    answer = _shuffled(VISIT, Keys(round_id), args)
    if answer is None:
        return Standing("shuffling")
    state = _text(answer[0])
    if state == "admitted":
        return Standing(state, expires_at=float(answer[1]))
    if state == "pre":
        return Standing(
            state,
            position=int(answer[1]),
            opens_at=float(answer[2]),
            project=_text(answer[3]) or None,
        )
    if state == "waiting":
        position, rate, paused = int(answer[1]) + 1, float(answer[2]), answer[3] == 1
        return Standing(
            state,
            position=position,
            wait_seconds=int(position / rate),
            paused=paused,
            ticket=int(float(answer[4])),
            sold_out=answer[5] == 1,
            ended=answer[6] == 1,
            project=_text(answer[7]) or None,
        )
    return Standing(state)


def queue_line(*, round_id: int, now: float) -> Line:
    """How many have been let in, how many wait, the pace: the same answer for everyone.
    Making it lets the head of the queue in, so the queue moves while the crowd only reads
    the front's copy of it."""
    answer = _shuffled(LINE, Keys(round_id), [repr(now), BURST_SECONDS])
    if answer is None:
        return Line("shuffling")
    state = _text(answer[0])
    if state == "line":
        gone = {_text(field) for field in answer[5]}
        return Line(
            state,
            admitted=int(answer[1]),
            waiting=int(answer[2]),
            rate=float(answer[3]),
            paused=answer[4] == 1,
            sold_out=tuple(sorted(int(f) for f in gone - {ENDED} if f.isdigit())),
            ended=ENDED in gone,
        )
    if state == "pre":
        return Line(state, pre=int(answer[1]), opens_at=float(answer[2]))
    return Line(state)


def gone_mark(*, round_id: int, listing_id: int | None = None) -> None:
    """Tell the round's waiting crowd that a listing (or, without one, the whole round) is
    gone. A notice, never a block: PostgreSQL still decides every order."""
    try:
        client().hset(Keys(round_id).gone, ENDED if listing_id is None else str(listing_id), "1")
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc


def gone_clear(*, round_ids: list[int], listing_id: int | None = None, ended: bool = False) -> None:
    """Units (of `listing_id`) or budget (`ended`) came back: take those notices down."""
    fields = [str(listing_id)] if listing_id is not None else []
    fields += [ENDED] if ended else []
    if not fields or not round_ids:
        return
    try:
        with client().pipeline(transaction=False) as pipe:
            for round_id in round_ids:
                pipe.hdel(Keys(round_id).gone, *fields)
            pipe.execute()
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc


def place_name(visitor: str) -> str:
    """The pseudonym a visitor's drawn place is published under: it names nobody, and only
    the visitor's own page (private) tells them which it is."""
    return hashlib.sha256(f"waitingroom:place:{visitor}".encode()).hexdigest()[:16]


def place_part(name: str) -> str:
    """The part of the drawn order a place name is published in."""
    return name[:PART_DIGITS]


def places_part(*, round_id: int, part: str) -> dict[str, int] | None:
    """One part of the drawn order (place name -> ticket), None before the draw."""
    k = Keys(round_id)
    try:
        with client().pipeline(transaction=False) as pipe:
            pipe.exists(k.ready)
            pipe.hget(k.places, part)
            ready, value = pipe.execute()
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc
    if not ready:
        return None
    pairs = (item.partition(":") for item in _text(value or b"").split())
    return {name: int(ticket) for name, _, ticket in pairs}


def pass_spend(*, round_id: int, visitor: str, key: str, ttl: int, now: float) -> bool:
    k = Keys(round_id)
    return _run(SPEND, [k.live, k.used], [visitor, repr(now), key, ttl]) == 1


def pass_refund(*, round_id: int, visitor: str, key: str, expires_at: float) -> None:
    k = Keys(round_id)
    _run(REFUND, [k.live, k.used], [visitor, key, repr(expires_at)])


def pass_alive(*, round_id: int, visitor: str, now: float) -> bool:
    try:
        expiry = client().zscore(Keys(round_id).live, visitor)
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc
    return expiry is not None and expiry > now


def queue_figures(*, round_id: int, now: float) -> dict[str, int | bool]:
    """For staff: how many wait, before and after the opening, and how many passes live."""
    k = Keys(round_id)
    try:
        with client().pipeline(transaction=False) as pipe:
            pipe.scard(k.pre)
            pipe.zcard(k.queue)
            pipe.zcount(k.live, f"({now}", "+inf")
            pipe.hlen(k.used)
            pipe.exists(k.ready)
            pre, queue, live, spent, ready = pipe.execute()
    except redis.RedisError as exc:
        raise RoomClosed(str(exc)) from exc
    return {"pre": pre, "queue": queue, "live": live, "spent": spent, "shuffled": bool(ready)}


def session_digest(session_key: str) -> str:
    """A pass names the session it was given to by a digest, not by the key itself."""
    return hashlib.sha256(f"waitingroom:{session_key}".encode()).hexdigest()[:32]
