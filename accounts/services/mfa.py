"""Multi-factor authentication: TOTP enrolment, recovery codes, the second step of a sign-in, step-up.

* **Enrolment**: :func:`totp_setup` proposes a secret (stored encrypted); :func:`totp_confirm` activates
  it once a code from the app checks out, and returns ten recovery codes, shown once (kept as digests).
* **Codes**: RFC 6238 (SHA-1, 30 s, 6 digits), the steps either side of now accepted, and each step at
  most once (``TotpDevice.last_step`` moves forward in one conditional UPDATE, so two requests racing
  with the same code can't both win). A recovery code works once.
* **Sign-in**: ``accounts.services.sign_in.sign_in`` asks :func:`second_factor_required`; when it is,
  the first step ends in an ``MfaChallenge`` (:func:`challenge_start`) and :func:`challenge_complete`
  finishes that same sign-in once a code checks out.
* **Step-up**: :func:`reauthenticate` moves ``Session.authenticated_at`` to now; sensitive actions
  require it within ``AUTH_REAUTH_MINUTES`` (``tenants.api.permissions.require_recent_authentication``).
"""

from __future__ import annotations

import base64
import io
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.exceptions import Throttled

from accounts.models import MfaChallenge, RecoveryCode, RevokeReason, Session, TotpDevice, User
from accounts.throttles import SlidingWindow
from accounts.tokens import SECOND_FACTOR_AMR
from core.errors import Conflict, InvalidInput, Unauthenticated
from core.http import RequestMeta
from core.jobs import job_start
from core.secrets import digests_match, secret_digest, secret_digests, secret_keys, token_new
from tenants.audit import AuditEventType, audit_record, audit_record_after_request

RECOVERY_CODE_COUNT = 10
CHALLENGE_MINUTES = 5
CHALLENGE_ATTEMPTS = 5
_DIGEST_PURPOSE = "mfa"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a sheet of paper
_CODE = re.compile(r"[0-9]{6}")  # ASCII: "\d" would admit other scripts' digits


class InvalidCode(InvalidInput):
    default_code = "invalid_code"
    default_detail = "The code is not valid."


class MfaAlreadyEnabled(Conflict):
    default_code = "mfa_already_enabled"
    default_detail = "Multi-factor authentication is already on: turn it off first to enrol again."


class MfaNotSetUp(InvalidInput):
    default_code = "mfa_not_set_up"
    default_detail = "Start with mfa/totp/setup/ and scan the code with an authenticator app."


class EmailUnverified(InvalidInput):
    default_code = "email_unverified"
    default_detail = "Verify your email address first (email/verify/request/), then turn on MFA."


class MfaNotEnabled(InvalidInput):
    default_code = "mfa_not_enabled"
    default_detail = "Multi-factor authentication is not on for this account."


class MfaTokenInvalid(Unauthenticated):
    default_code = "mfa_token_invalid"
    default_detail = "This sign-in has expired or was already finished: sign in again."


class TooManyAttempts(Unauthenticated):
    default_code = "mfa_token_invalid"
    default_detail = "Too many wrong codes: sign in again."


@dataclass(frozen=True)
class MfaRequired:
    """The first step of a sign-in succeeded; the second is owed (API.md "Multi-factor authentication")."""

    mfa_token: str
    methods: tuple[str, ...]


# --- The secret at rest ---------------------------------------------------------------------------------


def _fernet() -> MultiFernet:
    """Keys derived from SECRET_KEY (then SECRET_KEY_FALLBACKS, so rotating it keeps enrolments readable)."""
    keys = (
        salted_hmac("authsvc.mfa.totp", "", secret=key, algorithm="sha256").digest() for key in secret_keys()
    )
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def _seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:  # SECRET_KEY changed without keeping the old one in SECRET_KEY_FALLBACKS
        raise MfaNotSetUp(
            "This authenticator can no longer be read: ask an administrator to reset MFA."
        ) from None


# --- Codes --------------------------------------------------------------------------------------------


def _totp(device: TotpDevice) -> pyotp.TOTP:
    return pyotp.TOTP(_unseal(device.secret))  # SHA-1, 30 s, 6 digits: what every authenticator app uses


def _matching_step(device: TotpDevice, code: str) -> int | None:
    """The time step (now, or one either side) whose code ``code`` is; None if none is."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return None
    totp = _totp(device)
    now_step = int(time.time()) // totp.interval
    found = None
    for step in (now_step - 1, now_step, now_step + 1):  # compare all three: the time taken says nothing
        if digests_match(totp.generate_otp(step), code):
            found = step
    return found


def _totp_accept(device: TotpDevice, code: str) -> bool:
    """Accept ``code`` for a confirmed (or being-confirmed) device, at most once per time step."""
    step = _matching_step(device, code)
    if step is None:
        return False
    moved = TotpDevice.objects.filter(
        Q(last_step__isnull=True) | Q(last_step__lt=step), user_id=device.user_id
    ).update(last_step=step)
    return moved == 1  # 0: this step (or a later one) was already used: a replay


def _recovery_normalized(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _recovery_digest(code: str) -> str:
    return secret_digest(_recovery_normalized(code), purpose=f"{_DIGEST_PURPOSE}.recovery")


def _recovery_digests(code: str) -> list[str]:
    """Under the current and the fallback secret keys: codes outlive a key rotation."""
    return secret_digests(_recovery_normalized(code), purpose=f"{_DIGEST_PURPOSE}.recovery")


def _recovery_accept(user: User, code: str) -> bool:
    if not isinstance(code, str) or not 8 <= len(_recovery_normalized(code)) <= 32:
        return False
    used = RecoveryCode.objects.filter(
        user_id=user.pk, digest__in=_recovery_digests(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    if used:
        remaining = RecoveryCode.objects.filter(user_id=user.pk, used_at__isnull=True).count()
        audit_record(
            AuditEventType.MFA_RECOVERY_CODE_USED, subject_user_id=user.pk, details={"remaining": remaining}
        )
    return used == 1


def _recovery_codes_issue(user: User) -> list[str]:
    RecoveryCode.objects.filter(user_id=user.pk).delete()
    codes = [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user_id=user.pk, digest=_recovery_digest(code)) for code in codes
    )
    return codes


def _device(user: User, *, lock: bool = False, confirmed: bool = True) -> TotpDevice | None:
    devices = TotpDevice.objects.select_for_update() if lock else TotpDevice.objects
    device = devices.filter(user_id=user.pk).first()
    if device is None or (confirmed and device.confirmed_at is None):
        return None
    return device


def _verification_failed(user: User, *, context: str, method: str, locked: bool = False) -> None:
    # After the response, in a transaction of its own: whatever becomes of the request's.
    audit_record_after_request(
        AuditEventType.MFA_VERIFICATION_FAILED,
        subject_user_id=user.pk,
        details={"context": context, "method": method, **({"locked": True} if locked else {})},
    )


def _password_proven(user: User, password: str, *, context: str) -> bool:
    """Whether ``password`` is ``user``'s; a wrong one is audited like a wrong code."""
    if user.check_password(password):
        return True
    _verification_failed(user, context=context, method="password")
    return False


class WrongCode(InvalidCode):
    """A wrong second-factor code. Its count must stay although the answer is a 400: the request's
    transaction commits what was written before it (``core.exception_handler``, ``commit_request``)."""

    commit_request = True


class MfaLocked(Throttled):
    """Too many wrong codes in a row: the account's codes are refused for a while (429, ``Retry-After``)."""

    default_code = "mfa_locked"
    commit_request = True

    def __init__(self, wait: float) -> None:
        minutes = max(1, round(wait / 60))
        super().__init__(
            wait=wait,
            detail=(
                f"Too many wrong codes: codes are refused for {minutes} more minute(s). A recovery code "
                "still works."
            ),
            code=self.default_code,
        )


def second_factor_check(user: User, *, code: str | None, recovery_code: str | None, context: str) -> str:
    """Check a TOTP code or a recovery code of ``user`` (MFA on); returns the method that passed
    (``totp`` / ``recovery_code``), or 400 ``invalid_code`` (audited with ``context``).

    The one place every second-factor code is checked (``mfa/verify/``, ``reauthenticate/``, ``DELETE
    mfa/totp/``, the admin's login), so one cap holds for all: the authenticator's row is locked while
    checking (concurrent guesses queue), every wrong code counts, and at ``MFA_MAX_FAILED_CODES`` in a row
    the account is locked out (:func:`_lock_out`). While locked, only a recovery code is checked (50 bits:
    not guessable; the way in for an owner whose password someone else is guessing codes with); anything
    else is 429 ``mfa_locked``. A right code clears the count and the lockouts.

    Its writes must outlive the 400: call it in the request's own transaction or one of the caller's that
    commits on a wrong code, never inside an ``atomic`` block that the error leaves.
    """
    device = _device(user, lock=True)
    method = "totp" if code else "recovery_code"
    if device is None:
        _verification_failed(user, context=context, method=method)
        raise InvalidCode()
    now = timezone.now()
    locked = device.locked_until is not None and device.locked_until > now
    if locked and not recovery_code:
        _verification_failed(user, context=context, method=method, locked=True)
        raise MfaLocked(wait=(device.locked_until - now).total_seconds())
    if not locked and code and _totp_accept(device, code):
        passed = "totp"
    elif recovery_code and _recovery_accept(user, recovery_code):
        passed = "recovery_code"
    else:
        passed = None
    if passed is not None:
        if device.failed_codes or device.lockouts or device.locked_until:
            TotpDevice.objects.filter(user_id=user.pk).update(failed_codes=0, lockouts=0, locked_until=None)
        return passed
    _verification_failed(user, context=context, method=method)
    if locked:
        raise WrongCode()  # a wrong recovery code while locked: not guessable, so no further lockout
    failed = device.failed_codes + 1
    if failed >= settings.MFA_MAX_FAILED_CODES:
        _lock_out(user, device, now=now, failed=failed, context=context)
    else:
        TotpDevice.objects.filter(user_id=user.pk).update(failed_codes=failed)
    raise WrongCode()


MAX_LOCKOUT = timedelta(days=30)


def _lock_out(user: User, device: TotpDevice, *, now, failed: int, context: str) -> None:
    """``MFA_MAX_FAILED_CODES`` wrong codes in a row: the codes are refused for ``MFA_LOCKOUT_MINUTES``,
    doubled for each earlier lockout since the last right code (at most 30 days); every pending MFA sign-in
    dies (the next needs the password again); the user is emailed; ``mfa.locked`` is audited."""
    lockouts = device.lockouts + 1
    wait = min(timedelta(minutes=settings.MFA_LOCKOUT_MINUTES) * 2 ** min(lockouts - 1, 20), MAX_LOCKOUT)
    minutes = int(wait.total_seconds() // 60)
    TotpDevice.objects.filter(user_id=user.pk).update(
        failed_codes=0, lockouts=lockouts, locked_until=now + wait
    )
    # Every pending sign-in dies, but one a concurrent check holds (it waits for the authenticator's row
    # this one holds: waiting for it here would deadlock); that one meets the lockout once it gets the row.
    pending = MfaChallenge.objects.select_for_update(skip_locked=True).filter(
        user_id=user.pk, used_at__isnull=True
    )
    MfaChallenge.objects.filter(pk__in=pending.values("pk")).update(used_at=now)
    audit_record(
        AuditEventType.MFA_LOCKED,
        subject_user_id=user.pk,
        details={"context": context, "failed": failed, "lockouts": lockouts, "minutes": minutes},
    )
    from accounts.tasks import send_mfa_locked_notice  # tasks -> this module

    job_start(send_mfa_locked_notice, user_id=str(user.pk), minutes=minutes)


# --- Enrolment ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpProposal:
    secret: str
    otpauth_url: str
    qr_svg: str


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@transaction.atomic(savepoint=False)
def totp_setup(user: User) -> TotpProposal:
    """A fresh secret for ``user`` (replacing an unconfirmed one); nothing is active until confirmed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.mfa_enabled:
        raise MfaAlreadyEnabled()
    if not user.email_verified:
        # An unverified account may be a stranger's squat on someone's address, which the address's owner
        # claims (accounts.services.users.account_claim): it must not lock them out with its own factor.
        raise EmailUnverified()
    secret = pyotp.random_base32(32)  # 160 bits, RFC 4226's recommended key length
    TotpDevice.objects.update_or_create(
        user_id=user.pk,
        defaults={
            "secret": _seal(secret),
            "confirmed_at": None,
            "last_step": None,
            "created_at": timezone.now(),
        },
    )
    url = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=settings.AUTH_PRODUCT_NAME)
    return TotpProposal(secret=secret, otpauth_url=url, qr_svg=_qr_svg(url))


@transaction.atomic(savepoint=False)
def totp_confirm(*, user: User, session_id: uuid.UUID, session_amr: Sequence[str], code: str) -> list[str]:
    """Activate the proposed authenticator with a code from it; returns the recovery codes (shown once).

    The code proves the factor, so the caller's session now counts as having passed it (``otp`` in its
    ``amr``, from its next pair on). Every other session of the user ends: none of them passed it, and
    the factor is meant to stand between the password and the account from now on."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.mfa_enabled:
        raise MfaAlreadyEnabled()
    device = _device(user, lock=True, confirmed=False)
    if device is None:
        raise MfaNotSetUp()
    if not _totp_accept(device, code):
        raise InvalidCode()
    TotpDevice.objects.filter(user_id=user.pk).update(confirmed_at=timezone.now())
    User.objects.filter(pk=user.pk).update(mfa_enabled=True)
    codes = _recovery_codes_issue(user)
    Session.objects.filter(id=session_id, user_id=user.pk).update(amr=_amr_with_otp(session_amr))
    from accounts.services.sessions import sessions_revoke_for_user  # sessions -> sign_in -> this module

    sessions_revoke_for_user(user_id=user.pk, reason=RevokeReason.MFA_ENABLED, keep=session_id)
    audit_record(AuditEventType.MFA_ENROLLED, subject_user_id=user.pk, details={"method": "totp"})
    return codes


def _amr_with_otp(amr: Sequence[str]) -> list[str]:
    return [*amr, "otp"] if "otp" not in amr else list(amr)


def totp_disable(*, user: User, code: str | None, recovery_code: str | None, password: str | None) -> None:
    """Turn MFA off, proven by a current code, a recovery code or the password: the authenticator and
    every recovery code are deleted.

    Not ``atomic`` itself: it runs in the request's transaction, which keeps a wrong code's count
    (:func:`second_factor_check`); an ``atomic`` block here would roll it back with the 400."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.mfa_enabled:
        raise MfaNotEnabled()
    if password:
        if not _password_proven(user, password, context="disable"):
            raise InvalidCode("The password is not valid.")
        method = "password"
    else:
        # API.md: `code` is a TOTP code (six digits) or a recovery code (`recovery_code` names the latter too).
        if code and not _CODE.fullmatch(code):
            code, recovery_code = None, recovery_code or code
        method = second_factor_check(user, code=code, recovery_code=recovery_code, context="disable")
    mfa_remove(user)
    audit_record(AuditEventType.MFA_DISABLED, subject_user_id=user.pk, details={"method": method})


def mfa_remove(user: User) -> bool:
    """Delete the authenticator (confirmed or only proposed) and the recovery codes, and end the pending
    MFA sign-ins (``totp_disable``, the admin's reset, an account claim); whether there was any."""
    removed = TotpDevice.objects.filter(user_id=user.pk).delete()[0]
    removed += RecoveryCode.objects.filter(user_id=user.pk).delete()[0]
    removed += MfaChallenge.objects.filter(user_id=user.pk, used_at__isnull=True).update(used_at=timezone.now())
    User.objects.filter(pk=user.pk).update(mfa_enabled=False)
    user.mfa_enabled = False
    return removed > 0


@transaction.atomic(savepoint=False)
def recovery_codes_regenerate(user: User) -> list[str]:
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.mfa_enabled:
        raise MfaNotEnabled()
    codes = _recovery_codes_issue(user)
    audit_record(AuditEventType.MFA_RECOVERY_CODES_REGENERATED, subject_user_id=user.pk)
    return codes


# --- The second step of a sign-in -----------------------------------------------------------------------


def second_factor_required(user: User, amr: Sequence[str]) -> bool:
    return user.mfa_enabled and not SECOND_FACTOR_AMR.intersection(amr)


def _password_fingerprint(user: User) -> str:
    """Changes with the password (whatever route changed it): a sign-in begun before can't be finished."""
    return secret_digest(user.password, purpose=f"{_DIGEST_PURPOSE}.password")


def challenge_start(*, user: User, method: str, amr: Sequence[str], org_reference: str | None) -> MfaRequired:
    token = token_new()
    MfaChallenge.objects.filter(user_id=user.pk, expires_at__lt=timezone.now()).delete()  # their dead ones
    MfaChallenge.objects.create(
        user=user,
        password_fingerprint=_password_fingerprint(user),
        digest=secret_digest(token, purpose=_DIGEST_PURPOSE),
        method=method,
        amr=list(amr),
        org_reference=org_reference or "",
        expires_at=timezone.now() + timedelta(minutes=CHALLENGE_MINUTES),
    )
    return MfaRequired(mfa_token=token, methods=("totp", "recovery_code"))


def _challenge_for(token: str) -> MfaChallenge:
    if not isinstance(token, str) or not 16 <= len(token) <= 128:
        raise MfaTokenInvalid()
    challenge = (
        MfaChallenge.objects.select_for_update()
        .select_related("user")
        .filter(digest=secret_digest(token, purpose=_DIGEST_PURPOSE))
        .first()
    )
    if challenge is None or challenge.used_at is not None or challenge.expires_at <= timezone.now():
        raise MfaTokenInvalid()
    if challenge.attempts >= CHALLENGE_ATTEMPTS:
        raise TooManyAttempts()
    if not challenge.user.is_active or not challenge.user.mfa_enabled:
        raise MfaTokenInvalid()
    if not digests_match(challenge.password_fingerprint, _password_fingerprint(challenge.user)):
        raise MfaTokenInvalid()  # the password changed since the first step
    return challenge


def challenge_complete(*, token: str, code: str | None, recovery_code: str | None, meta: RequestMeta):
    """Finish the sign-in ``token`` stands for with a second factor: its ``SignIn``.

    A wrong code is counted, in a transaction of its own that the 400 doesn't roll back; the challenge
    dies at ``CHALLENGE_ATTEMPTS`` (401 ``mfa_token_invalid``), and each user has a budget of wrong codes
    across challenges (``mfa_verify_user``: 429), so signing in again doesn't buy more guesses.
    """
    from accounts.services.sign_in import sign_in  # sign_in imports this module

    with transaction.atomic(durable=True):
        challenge = _challenge_for(token)
        budget = _user_budget(challenge.user_id)
        refusal = None
        try:
            method = second_factor_check(
                challenge.user, code=code, recovery_code=recovery_code, context="sign_in"
            )
        except MfaLocked as locked:
            refusal = locked  # nothing was guessed: the challenge's attempts stay
        except InvalidCode:
            MfaChallenge.objects.filter(pk=challenge.pk).update(attempts=F("attempts") + 1)
            refusal = InvalidCode()
            if not MfaChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).exists():
                refusal = TooManyAttempts()  # that code locked the account out: this sign-in is over
        else:
            MfaChallenge.objects.filter(pk=challenge.pk).update(used_at=timezone.now())
            if budget is not None:
                budget.give_back()  # the budget counts wrong codes only
    if refusal is not None:
        raise refusal
    return sign_in(
        user=challenge.user,
        method=challenge.method,
        amr=_amr_with_otp(challenge.amr),
        meta=meta,
        org_reference=challenge.org_reference or None,
        second_factor=method,
    )


def _user_budget(user_id: uuid.UUID) -> SlidingWindow | None:
    """A slot of the user's budget of wrong codes (given back when the code is right); 429 when spent."""
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get("mfa_verify_user")
    if not rate:
        return None
    window = SlidingWindow(f"mfa_verify_user:{user_id}", rate)
    if not window.take():
        raise Throttled(wait=window.wait())
    return window


# --- Step-up ------------------------------------------------------------------------------------------


def reauthenticate(
    *, user: User, session_id: uuid.UUID, password: str | None, code: str | None, recovery_code: str | None
):
    """Prove again who is at the keyboard (the password, or a code when MFA is on): the session's
    ``authenticated_at`` becomes now. 400 ``invalid_password`` / ``invalid_code``."""
    if password:
        if not _password_proven(user, password, context="reauthenticate"):
            raise InvalidInput("The password is not valid.", code="invalid_password")
        method = "password"
    else:
        if not user.mfa_enabled:
            raise MfaNotEnabled()
        method = second_factor_check(user, code=code, recovery_code=recovery_code, context="reauthenticate")
    now = timezone.now()
    Session.objects.filter(id=session_id, user_id=user.pk).update(authenticated_at=now)
    audit_record(
        AuditEventType.SESSION_REAUTHENTICATED,
        subject_user_id=user.pk,
        subject=Session(id=session_id),
        details={"method": method},
    )
    return now
