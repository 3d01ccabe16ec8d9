"""Throttles for the public sign-in endpoints, on counters that stay exact across workers.

Buckets, each a sliding-window counter on the shared cache (Redis with ``REDIS_URL``):

* ``<scope>`` — per client network (an IPv4 address, an IPv6 /64; IPv4-mapped IPv6 addresses count
  as the IPv4 address they carry), every attempt;
* ``<scope>_email_network`` — per submitted email **and** client network: the fast bucket against
  one client guessing one account. A stranger on another network cannot fill the victim's bucket;
* ``<scope>_email`` — per submitted email from anywhere: for sign-in the slow cap against guessing
  spread over many networks (NIST SP 800-63B §5.2.2: at most 100 consecutive failures per account).

On password sign-in views (``checks_password = True``) the email buckets count **failures**, not attempts: a
request reserves a slot, a request that did not fail on its credentials (``401``) gives it back, and a
successful sign-in empties the email buckets (the failures were not consecutive any more).

Why the limits hold under concurrency: a slot is taken with the cache's atomic ``add`` + ``incr``
(``INCR`` on Redis; a lock in local memory) *before* the decision, and the decision reads the value
that increment returned. N racing requests get N distinct counts, so no more than the limit pass,
whatever the number of workers. (DRF's ``SimpleRateThrottle`` reads, appends and writes back a
history list: racing requests overwrite each other's entries and all pass.)

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (env ``AUTH_THROTTLE_RATES``); a scope
without a rate is not throttled.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from accounts.models import User, normalize_email
from core.http import client_ip
from tenants.audit import AuditEventType, audit_record

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/min"`` → ``(10, 60)``: DRF's rate syntax (the period's first letter counts)."""
    number, period = rate.split("/")
    return int(number), _PERIODS[period.strip()[0]]


def rate_limit_key(ip: str) -> str:
    """The bucket of an address: IPv4 as is, IPv6 by its /64 (one subscriber's whole prefix).

    An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``, what a dual-stack socket reports for IPv4
    clients) is its IPv4 address: otherwise every IPv4 client would share one /64 bucket.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class SlidingWindow:
    """A sliding-window counter: this window's count plus the previous window's, weighted by how much
    of it still overlaps the last ``period`` seconds. Two integer keys per bucket, atomic increments."""

    def __init__(self, key: str, rate: str) -> None:
        self.limit, self.period = parse_rate(rate)
        now = time.time()
        window = int(now // self.period)
        self.elapsed = now - window * self.period
        self.current_key = f"throttle:{key}:{window}"
        self.previous_key = f"throttle:{key}:{window - 1}"
        self.count = 0
        self.previous = 0

    def _increment(self, delta: int) -> int:
        for _ in range(2):
            cache.add(self.current_key, 0, timeout=self.period * 2)
            try:
                return cache.incr(self.current_key, delta)
            except ValueError:  # the key expired between add and incr: add it again
                continue
        return 0

    def take(self) -> bool:
        """Reserve a slot; ``False`` (and the slot returned) when that would exceed the limit."""
        self.count = self._increment(1)
        self.previous = cache.get(self.previous_key) or 0
        if self._estimate(self.count) <= self.limit:
            return True
        self.give_back()
        self.count -= 1
        return False

    def give_back(self) -> None:
        self._increment(-1)

    def clear(self) -> None:
        cache.delete_many([self.current_key, self.previous_key])

    def _estimate(self, count: int) -> float:
        return self.previous * (1 - self.elapsed / self.period) + count

    def wait(self) -> float:
        """Seconds until one more request would fit."""
        room = self.limit - 1  # the estimate must fall to this for the next request to pass
        if self.count <= room and self.previous > 0:
            # Only the previous window's tail is in the way: wait until it has decayed enough.
            seconds = self.period * (1 - (room - self.count) / self.previous) - self.elapsed
        else:
            # This window alone is full: wait for it to end and to decay as the previous one.
            seconds = (self.period - self.elapsed) + self.period * (1 - room / max(self.count, 1))
        return max(1.0, math.ceil(seconds))


class _Bucket(BaseThrottle):
    """One bucket for the view's ``throttle_scope`` + :attr:`suffix`, keyed by :meth:`ident`."""

    suffix = ""

    def __init__(self, *, counts_failures_only: bool = False, audits_refusals: bool = False) -> None:
        # A sign-in's email buckets count failures (see module doc); a sign-in's buckets record the
        # first refusal of each window in the audit log.
        self.counts_failures_only = counts_failures_only
        self.audits_refusals = audits_refusals
        self.window: SlidingWindow | None = None
        self.reserved = False
        self.email_field = "email"

    def exempt(self, request, ident: str) -> bool:
        """Whether this request skips the bucket altogether (no slot taken)."""
        return False

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(f"{scope}{self.suffix}") if scope else None
        # The address field the view itself checks: an extra "email" beside OAuth's "username" must not
        # pick the bucket (it would dodge the victim's limits, or empty them with a success).
        self.email_field = getattr(view, "throttle_email_field", "email")
        ident = self.ident(request) if rate else None
        if not ident or self.exempt(request, ident):
            return True
        self.window = SlidingWindow(f"{scope}{self.suffix}:{ident}", rate)
        self.reserved = self.window.take()
        if not self.reserved and self.audits_refusals:
            self._record_refusal(request, f"{scope}{self.suffix}")
        return self.reserved

    def _record_refusal(self, request, bucket: str) -> None:
        """One ``sign_in.throttled`` event per bucket and window (the first refusal), not one per 429.

        Sign-in views run outside the request transaction, so the event is committed on its own; the
        admin's login form answers its 429 without an error, so there it joins the committed request.
        """
        if not cache.add(f"{self.window.current_key}:audited", 1, timeout=self.window.period * 2):
            return
        email = _encodable(submitted_email(request, self.email_field))
        subject = User.objects.filter(email=email).values_list("id", flat=True).first() if email else None
        audit_record(
            AuditEventType.SIGN_IN_THROTTLED,
            actor_user_id=None,
            subject_user_id=subject,
            details={"bucket": bucket, "limit": self.window.limit, "period_seconds": self.window.period},
            durable=not connection.in_atomic_block,
        )

    def wait(self) -> float | None:
        return self.window.wait() if self.window else None

    def settle(self, outcome: str) -> None:
        """After a sign-in attempt: ``"failure"`` keeps the slot, ``"success"`` empties a failure
        bucket, anything else gives a failure bucket's slot back. Attempt buckets keep every slot."""
        if not (self.counts_failures_only and self.window and self.reserved):
            return
        self.reserved = False
        if outcome == "success":
            self.window.clear()
        elif outcome != "failure":
            self.window.give_back()


class IPRateThrottle(_Bucket):
    """Per client network, every attempt (scope ``<throttle_scope>``)."""

    def ident(self, request) -> str | None:
        # No address at all (a server on a Unix socket without NUM_PROXIES): one shared bucket, not none.
        return rate_limit_key(client_ip(request)) or "unknown"


def submitted_email(request, field: str) -> str:
    """The address in the body's ``field`` (``email``, or OAuth's and the admin's ``username``),
    normalized; ``""`` when none was sent."""
    data = request.data if hasattr(request, "data") else request.POST  # DRF or plain Django (admin)
    value = data.get(field) if hasattr(data, "get") else None
    return normalize_email(value) if isinstance(value, str) and value.strip() else ""


def _encodable(text: str) -> str:
    """``text``, or ``""`` when it cannot reach the database (a lone surrogate, before validation)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return text


def email_digest(email: str) -> str:
    """The bucket key of an address (bucket keys never hold one); ``""`` for none."""
    return hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest() if email else ""


def submitted_email_digest(request, field: str) -> str:
    """:func:`email_digest` of :func:`submitted_email`."""
    return email_digest(submitted_email(request, field))


KNOWN_NETWORK_SECONDS = 30 * 86400


class EmailRateThrottle(_Bucket):
    """Per submitted email from any network (scope ``<throttle_scope>_email``).

    As sign-in's slow cap it spares the networks the account signed in from in the last 30 days: a
    stranger who fills it (a hundred failures) locks out guessing from everywhere else, not the owner
    at home or at work.
    """

    suffix = "_email"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.known_network_key = ""

    def ident(self, request) -> str | None:
        return submitted_email_digest(request, self.email_field) or None

    def exempt(self, request, ident: str) -> bool:
        if not self.counts_failures_only:
            return False
        self.known_network_key = f"throttle:known:{ident}:{rate_limit_key(client_ip(request))}"
        return bool(cache.get(self.known_network_key))

    def settle(self, outcome: str) -> None:
        if outcome == "success" and self.known_network_key:
            cache.set(self.known_network_key, 1, timeout=KNOWN_NETWORK_SECONDS)
        super().settle(outcome)


class AccountRateThrottle(_Bucket):
    """Per signed-in account (scope ``<throttle_scope>_email``): for authenticated endpoints that email
    the account's address or check its password."""

    suffix = "_email"

    def ident(self, request) -> str | None:
        user = getattr(request, "user", None)
        return email_digest(user.email) if user is not None and getattr(user, "email", "") else None


class OrgRateThrottle(_Bucket):
    """Per the caller's current org (scope ``<throttle_scope>_org``): for org endpoints that send mail."""

    suffix = "_org"

    def ident(self, request) -> str | None:
        org = getattr(getattr(request, "auth", None), "org", None)
        return str(org.id) if org is not None else None


class EmailNetworkRateThrottle(_Bucket):
    """Per submitted email and client network (scope ``<throttle_scope>_email_network``)."""

    suffix = "_email_network"

    def ident(self, request) -> str | None:
        email = submitted_email_digest(request, self.email_field)
        return f"{email}:{rate_limit_key(client_ip(request))}" if email else None


def sign_in_throttles() -> list[_Bucket]:
    """The buckets of a password sign-in (login, OAuth2 token, the admin's login form)."""
    return [
        IPRateThrottle(audits_refusals=True),
        EmailNetworkRateThrottle(counts_failures_only=True, audits_refusals=True),
        EmailRateThrottle(counts_failures_only=True, audits_refusals=True),
    ]


def sign_in_outcome(status_code: int) -> str:
    """How a sign-in attempt ended, from its status: 401 is a failed guess, 2xx/3xx a success."""
    if status_code == 401:
        return "failure"
    return "success" if status_code < 400 else "other"


def settle_sign_in(throttles: Iterable[BaseThrottle], *, outcome: str) -> None:
    """Tell the buckets how a sign-in attempt ended (see :meth:`_Bucket.settle`)."""
    for throttle in throttles:
        if isinstance(throttle, _Bucket):
            throttle.settle(outcome)
