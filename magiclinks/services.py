"""Emailed one-time tokens: issue, spend, and the flows that spend them.

Every token is 256 bits from ``secrets`` and is stored as a keyed digest only. Spending is one
conditional ``UPDATE … RETURNING``: of any number of concurrent requests with the same token exactly
one gets the row, the others find it ended. No GET spends anything (the views).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User, normalize_email
from accounts.services.passwords import password_validate
from accounts.services.sign_in import SignIn, sign_in
from accounts.services.users import email_mark_verified, email_prove, signup_allowed, user_create
from core.errors import InvalidInput, NotFound
from core.http import RequestMeta
from core.secrets import code_new, digests_match, secret_digest, token_new
from magiclinks.models import EmailToken, EndReason, LinkPurpose
from tenants.audit import AuditEventType, audit_record


class TokenInvalid(InvalidInput):
    default_code = "token_invalid"
    default_detail = "This link is invalid or has expired. Ask for a new one."


class TokenNotFound(NotFound):
    default_code = "token_not_found"
    default_detail = "This link is unknown."


# --- Issue -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    token: str
    code: str | None
    expires_minutes: int


_ISSUE_SQL = """
INSERT INTO magiclinks_emailtoken AS t
    (id, purpose, email, user_id, digest, code_digest, code_attempts, password_fingerprint,
     created_at, expires_at, ended_at, end_reason, ip, user_agent)
VALUES (gen_random_uuid(), %(purpose)s, %(email)s, %(user_id)s, %(digest)s, %(code_digest)s, 0,
        %(fingerprint)s, statement_timestamp(), statement_timestamp() + %(lifetime)s, NULL, '',
        %(ip)s, %(user_agent)s)
ON CONFLICT (purpose, email) WHERE ended_at IS NULL DO UPDATE SET
    user_id = EXCLUDED.user_id, digest = EXCLUDED.digest, code_digest = EXCLUDED.code_digest,
    code_attempts = 0, password_fingerprint = EXCLUDED.password_fingerprint,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
    ip = EXCLUDED.ip, user_agent = EXCLUDED.user_agent
"""


def token_issue(
    *,
    purpose: LinkPurpose,
    email: str,
    user: User | None,
    lifetime: timedelta,
    meta: RequestMeta,
    with_code: bool = False,
) -> Issued:
    """A new token for ``email`` (and its code, ``with_code``), replacing the address's live one of the
    same purpose in the same statement: one round trip, and never two live links for one address."""
    token = token_new()
    code = code_new() if with_code else None
    params = {
        "purpose": purpose.value,
        "email": email,
        "user_id": user.pk if user else None,
        "digest": secret_digest(token, purpose=purpose.value),
        "code_digest": _code_digest(email, code) if code else "",
        "fingerprint": password_fingerprint(user) if purpose == LinkPurpose.PASSWORD_RESET else "",
        "lifetime": lifetime,
        "ip": meta.ip,
        "user_agent": meta.user_agent,
    }
    with connection.cursor() as cursor:
        cursor.execute(_ISSUE_SQL, params)
    return Issued(token=token, code=code, expires_minutes=int(lifetime.total_seconds() // 60))


def _code_digest(email: str, code: str) -> str:
    return secret_digest(f"{email}\x00{code}", purpose="sign_in_code")


def password_fingerprint(user: User) -> str:
    """A digest of the user's password hash: changes whenever the password does, by any route."""
    return secret_digest(user.password, purpose="password_fingerprint")


def link_build(base: str, token: str, *, in_query: bool = False) -> str:
    """``base/<token>``, or ``base?token=<token>`` (a redirect_url, keeping its own query but for any
    ``token`` of its own: a link must carry ours alone, never one the requester planted before it)."""
    if not in_query:
        return f"{base.rstrip('/')}/{token}"
    scheme, netloc, path, query, _ = urlsplit(base)
    kept = [(name, value) for name, value in parse_qsl(query, keep_blank_values=True) if name != "token"]
    query = urlencode([*kept, ("token", token)])
    return urlunsplit((scheme, netloc, path, query, ""))


# Our tokens are 43 URL-safe characters: a redirect URL holding a run like that (in its path or query)
# could be carrying one of them, planted by whoever asked for the link.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{40,}")


def redirect_url_allowed(url: str) -> bool:
    """Whether a magic link may point at ``url``: http(s), no credentials or fragment, under
    ``FRONTEND_URL`` or on an origin of ``AUTH_REDIRECT_ALLOWED_ORIGINS``, and carrying nothing that
    could pass for a token. The last rule stops login CSRF: a requester who planted their own live token
    in the URL (``…/auth/magic/<theirs>``, ``?token=<theirs>``) would have the victim's email sign the
    victim into the requester's account."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return False
    if parts.fragment or "\\" in url or any(ch.isspace() for ch in url):
        return False
    path, query = unquote(parts.path), unquote(parts.query)
    if any(segment in {".", ".."} for segment in path.split("/")):
        return False  # /app/../other would leave FRONTEND_URL's path once resolved
    if "token" in {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}:
        return False
    if _TOKEN_LIKE.search(path) or _TOKEN_LIKE.search(query):
        return False
    origin = f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}".lower()
    frontend = urlsplit(settings.FRONTEND_URL)
    frontend_origin = f"{frontend.scheme}://{frontend.netloc}".lower()
    if origin == frontend_origin:
        base_path = frontend.path.rstrip("/")
        return not base_path or path == base_path or path.startswith(f"{base_path}/")
    return origin in {allowed.lower() for allowed in settings.AUTH_REDIRECT_ALLOWED_ORIGINS}


# --- Spend -------------------------------------------------------------------------------------------

_LIVE = "ended_at IS NULL AND expires_at > statement_timestamp()"
_SPEND_SQL = f"""
UPDATE magiclinks_emailtoken SET ended_at = statement_timestamp(), end_reason = 'used'
WHERE purpose = %(purpose)s AND (digest = %(digest)s OR id = %(id)s) AND {_LIVE}
RETURNING *
"""  # noqa: S608 (fixed text)


def token_spend(
    *, purpose: LinkPurpose, token: str | None = None, token_id: uuid.UUID | None = None
) -> EmailToken:
    """End the live token of ``purpose`` given by its secret (``token``) or, after a code matched, by its
    id, and return it; 400 ``token_invalid`` when it is unknown, used, expired or replaced (all alike)."""
    params = {
        "purpose": purpose.value,
        "digest": secret_digest(token, purpose=purpose.value) if token is not None else None,
        "id": token_id,
    }
    rows = list(EmailToken.objects.raw(_SPEND_SQL, params))
    if not rows:
        raise TokenInvalid()
    return rows[0]


_CODE_ATTEMPT_SQL = f"""
UPDATE magiclinks_emailtoken SET code_attempts = code_attempts + 1
WHERE purpose = 'sign_in' AND email = %(email)s AND code_digest <> '' AND {_LIVE}
RETURNING id, user_id, code_digest, code_attempts
"""  # noqa: S608 (fixed text)
_CODE_KILL_SQL = "UPDATE magiclinks_emailtoken SET code_digest = '' WHERE id = %(id)s"


def code_check(*, email: str, code: str, meta: RequestMeta) -> uuid.UUID | None:
    """The id of the live sign-in link of ``email`` whose code is ``code``, or ``None``. Every check
    counts as an attempt; at ``MAGIC_LINK_CODE_ATTEMPTS`` misses the code dies (the link lives on).

    The count must stay although the request then fails: this commits in a transaction of its own, so
    call it outside the request transaction. The caller spends the link with :func:`token_spend`.
    """
    email = normalize_email(email)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(_CODE_ATTEMPT_SQL, {"email": email})
        row = cursor.fetchone()
        if row is None:
            return None
        token_id, user_id, code_digest, attempts = row
        if digests_match(code_digest, _code_digest(email, code)):
            return token_id
        if attempts >= settings.MAGIC_LINK_CODE_ATTEMPTS:
            cursor.execute(_CODE_KILL_SQL, {"id": token_id})
            audit_record(
                AuditEventType.MAGIC_LINK_CODE_EXHAUSTED,
                actor_user_id=None,
                subject_user_id=user_id,
                details={"attempts": attempts},
                meta=meta,
            )
        return None


# --- Flows -------------------------------------------------------------------------------------------


def _magic_link_user(row: EmailToken, meta: RequestMeta) -> tuple[User, bool]:
    """The account a spent sign-in link signs into, created when the address has none and sign-up is on."""
    user = row.user or User.objects.filter(email=row.email).first()
    created = False
    if user is None:
        if not signup_allowed():
            raise TokenInvalid()  # sign-up was switched off after the link went out
        user = user_create(email=row.email, email_verified=True, method="magic_link", meta=meta)
        created = user is not None
        if user is None:  # registered meanwhile by another route: that account it is
            user = User.objects.get(email=row.email)
    if not user.is_active or user.email != row.email:  # the link proves its address, not a changed one
        raise TokenInvalid()
    return user, created


@transaction.atomic(savepoint=False)
def magic_link_sign_in(
    *, meta: RequestMeta, token: str | None = None, token_id: uuid.UUID | None = None
) -> SignIn:
    """Spend a sign-in link (its ``token``, or its id once :func:`code_check` matched its code) and sign
    its address in; the address counts as verified from now on. 400 ``token_invalid`` unless it is live."""
    row = token_spend(purpose=LinkPurpose.SIGN_IN, token=token, token_id=token_id)
    user, created = _magic_link_user(row, meta)
    email_prove(user, via="magic_link", created=created)
    return sign_in(user=user, method="magic_link", amr=["email"], meta=meta, created=created)


def magic_link_code_sign_in(*, email: str, code: str, meta: RequestMeta) -> SignIn:
    """Sign in with the address and the code from its email (another device): :func:`code_check`, then
    :func:`magic_link_sign_in`. Call outside the request transaction (the attempt must count)."""
    token_id = code_check(email=email, code=code, meta=meta)
    if token_id is None:
        raise TokenInvalid("This code is invalid or has expired. Ask for a new link.")
    return magic_link_sign_in(token_id=token_id, meta=meta)


@transaction.atomic(savepoint=False)
def email_verify(*, token: str, session_user_id: uuid.UUID | None = None) -> bool:
    """Spend an email-verification link and mark its address verified (if it is still the user's);
    whether the account was claimed.

    The link is bound to the account's own sessions: presented with a Bearer token of the account
    (``session_user_id``), the one who set the account up proved the address, and nothing else changes.
    Presented any other way, it was opened by the address's owner who may not be that person (someone
    who registered the address and waits for its owner to click, keeping the password): an unverified
    account is then claimed like a magic-link sign-in would (``accounts.services.users.account_claim``).
    """
    row = token_spend(purpose=LinkPurpose.EMAIL_VERIFICATION, token=token)
    user = User.objects.select_for_update().filter(pk=row.user_id, is_active=True).first()
    if user is None or user.email != row.email:
        raise TokenInvalid()
    claimed = not user.email_verified and session_user_id != user.pk
    if claimed:
        email_prove(user, via="verification_link", created=False)
    else:
        email_mark_verified(user, via="verification_link")
    return claimed


def _reset_token_live(token: str, *, lock: bool) -> tuple[EmailToken, User]:
    """The reset token ``token`` (locked) and its user; 404 when unknown, 400 when used, expired, or the
    password or the address changed since it was sent."""
    tokens = EmailToken.objects.select_for_update() if lock else EmailToken.objects
    row = (
        tokens.filter(digest=secret_digest(token, purpose=LinkPurpose.PASSWORD_RESET.value))
        .filter(purpose=LinkPurpose.PASSWORD_RESET)
        .first()
    )
    if row is None or row.user_id is None:
        raise TokenNotFound()
    # With ``lock`` the user is locked too: a password change committing while this reset hashes would
    # otherwise be overwritten by a token it should have killed (the change locks the user as well).
    user = (User.objects.select_for_update() if lock else User.objects).get(pk=row.user_id)
    alive = row.ended_at is None and row.expires_at > timezone.now()
    if (
        not alive
        or not user.is_active
        or user.email != row.email  # sent to an address the account no longer has
        or row.password_fingerprint != password_fingerprint(user)
    ):
        raise TokenInvalid()
    return row, user


@transaction.atomic(savepoint=False)
def password_reset_validate(*, token: str) -> str:
    """The address a live reset token is for (the SPA shows it); see :func:`_reset_token_live`."""
    _, user = _reset_token_live(token, lock=False)
    return user.email


@transaction.atomic(savepoint=False)
def password_reset(*, token: str, new_password: str) -> User:
    """Set a new password through a reset link: the token is spent, every session of the user ends (the
    password-change trigger), and the address counts as verified. 400 ``token_invalid`` for any dead or
    unknown token; a weak password is a 400 on ``new_password`` that leaves the token usable."""
    try:
        row, user = _reset_token_live(token, lock=True)
    except TokenNotFound:
        raise TokenInvalid() from None
    password_validate(password=new_password, user=user, field="new_password")
    # The link proves the address: an unverified account is claimed first (its registrant's passkeys,
    # identities and MFA go with the old password), then gets the new password.
    email_prove(user, via="password_reset", created=False)
    user.set_password(new_password)
    user.password_event = AuditEventType.USER_PASSWORD_RESET
    user.save(update_fields=["password"])
    row.ended_at = timezone.now()
    row.end_reason = EndReason.USED
    row.save(update_fields=["ended_at", "end_reason"])
    return user
