"""Who may call what: keys with roles, widget keys bound to origins, per-key rate limits.

Three kinds of key. `admin` keys may do everything; `query` keys may ask and
read; publishable `widget` keys may only ask and open cited text, and only
from a page on one of their origins. With no key configured the API is open
and answers loopback clients only. Keys are compared in constant time and
never logged: a caller is known in logs by a fingerprint of its key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from dataclasses import dataclass
from enum import IntEnum

from fastapi import status

from service.errors import ApiError


class Access(IntEnum):
    """What a route needs, from least to most."""

    ASK = 1  # POST /v1/query and the cited text of a reading
    READ = 2  # the corpus and job listings
    WRITE = 3  # uploads, removals, moves, reindex


# The most each role may do.
ROLE_ACCESS = {"widget": Access.ASK, "query": Access.READ, "admin": Access.WRITE, "open": Access.WRITE}


@dataclass(frozen=True)
class Caller:
    role: str  # open, widget, query or admin
    fingerprint: str  # for logs and rate limits: a hash of the key, or the client address when open


@dataclass(frozen=True)
class _Key:
    secret: bytes
    role: str
    origins: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return f"{self.role}:{hashlib.sha256(self.secret).hexdigest()[:12]}"


class KeyRing:
    """The configured keys; `identify` compares a given key with every one of them in constant time."""

    def __init__(self, query: list[str], admin: list[str], widget: dict[str, list[str]]) -> None:
        self._keys = (
            [_Key(k.encode(), "admin") for k in admin]
            + [_Key(k.encode(), "query") for k in query]
            + [_Key(k.encode(), "widget", tuple(origins)) for k, origins in widget.items()]
        )

    @property
    def open(self) -> bool:
        return not self._keys

    @property
    def widget_origins(self) -> set[str]:
        return {origin for key in self._keys for origin in key.origins}

    def identify(self, given: str) -> _Key | None:
        found = None
        secret = given.encode()
        # Every key is compared, so timing says nothing about which one nearly matched.
        for key in self._keys:
            if hmac.compare_digest(secret, key.secret) and found is None:
                found = key
        return found

    def authorise(self, given: str | None, origin: str | None, client: str, needed: Access) -> Caller:
        """The caller behind a request, or an ApiError (401, 403) saying what to fix."""
        if self.open:
            if not is_loopback(client):
                raise ApiError(
                    status.HTTP_403_FORBIDDEN,
                    "this service runs without API keys and so answers only on its own machine; "
                    "configure keys (CONCORD_API_KEYS, CONCORD_ADMIN_API_KEYS) to serve others",
                    "open_mode_local_only",
                )
            return Caller("open", f"open:{client}")
        key = self.identify(given or "")
        if key is None:
            raise ApiError(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong API key; send 'Authorization: Bearer <key>'"
                if given
                else "this API needs a key; send 'Authorization: Bearer <key>'",
                "unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if key.role == "widget" and (origin or "").lower() not in key.origins:
            raise ApiError(
                status.HTTP_403_FORBIDDEN,
                f"this widget key is not allowed from {origin or 'a request without an Origin'}; "
                "it works only on the sites it was issued for",
                "origin_not_allowed",
            )
        if ROLE_ACCESS[key.role] < needed:
            needs = "an admin key" if needed is Access.WRITE else "a query or admin key"
            raise ApiError(
                status.HTTP_403_FORBIDDEN,
                f"a {key.role} key may not do this; it needs {needs}",
                "forbidden",
            )
        return Caller(key.role, key.fingerprint)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8 and ::1, and the name localhost (as `concord serve --host` may be given)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimiter:
    """A token bucket per caller: `burst` requests at once, refilled at `per_minute`."""

    MAX_BUCKETS = 10_000

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when)
        self._lock = threading.Lock()

    def check(self, caller: str) -> None:
        """Take one token for this caller, or raise 429 with the seconds until one is back."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, when = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - when) * self.rate)
            if tokens < 1:
                self._buckets[caller] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.rate)
                raise ApiError(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    f"too many requests for this key; try again in {wait} s",
                    "rate_limited",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[caller] = (tokens - 1, now)
            if len(self._buckets) > self.MAX_BUCKETS:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely carries no state worth keeping.
        for caller, (tokens, when) in list(self._buckets.items()):
            if tokens + (now - when) * self.rate >= self.burst:
                del self._buckets[caller]
