"""Passkeys (WebAuthn): registration, sign-in, and the user's list (API.md "Passkeys").

Every verification step is py_webauthn's (``webauthn``): the client data (type, challenge, origin), the
authenticator data (RP ID hash, user presence and verification, the counter going forward), the
attestation and the assertion's signature. Here: which challenge, which credential, which user, and what
is stored. A challenge is single-use and lives ``WEBAUTHN_CHALLENGE_SECONDS``; a registration's belongs to
the session that asked for it, a sign-in's is named by its id (``challenge_id``).

A passkey sign-in is a second factor by itself (``amr`` ``hwk`` for a credential bound to one
authenticator, ``swk`` for a synced one, RFC 8176): no TOTP step follows, and an org's ``require_mfa``
is satisfied (``tenants.api.permissions.HasActiveOrg``).
"""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    generate_challenge,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.models import User, normalize_email
from accounts.services.mfa import EmailUnverified
from accounts.services.sign_in import SignIn, sign_in
from accounts.services.users import LastSignInMethod, sign_in_method_remains
from core.errors import InvalidInput, NotFound, Unauthenticated
from core.http import RequestMeta
from passkeys.models import Passkey, PasskeyChallenge
from tenants.audit import AuditEventType, audit_record, audit_record_after_request

# What a malformed credential makes py_webauthn's parsers raise besides its own exceptions.
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError, IndexError)


class PasskeyInvalid(Unauthenticated):
    default_code = "passkey_invalid"
    default_detail = "This passkey could not sign you in."


class PasskeyRejected(InvalidInput):
    default_code = "passkey_invalid"
    default_detail = "The passkey could not be registered."


class Refused(Exception):
    """A sign-in refused for ``reason`` (audited, never in a response)."""

    def __init__(self, reason: str, user_id: uuid.UUID | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id


# --- Registration --------------------------------------------------------------------------------------


def registration_options(*, user: User, session_id: uuid.UUID) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptions for ``user`` (resident key preferred, user verification
    required, their passkeys excluded), as JSON (base64url). The challenge belongs to ``session_id``.

    400 ``email_unverified`` for an unverified address: the account may be a stranger's squat on it,
    which its owner claims, and a passkey would be a way in that survived nothing but the claim."""
    if not user.email_verified:
        raise EmailUnverified("Verify your email address first (email/verify/request/), then add a passkey.")
    challenge = _challenge_new(PasskeyChallenge.Purpose.REGISTER, user=user, session_id=session_id)
    options = generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=user.pk.bytes,  # the user handle: the same for every passkey of the user
        user_name=user.email,
        user_display_name=" ".join(filter(None, [user.first_name, user.last_name])) or user.email,
        challenge=bytes(challenge.challenge),
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(passkey) for passkey in Passkey.objects.filter(user=user)],
    )
    return options_to_json_dict(options)


@transaction.atomic(savepoint=False)
def register(*, user: User, session_id: uuid.UUID, credential: dict[str, Any], name: str) -> Passkey:
    """Verify the browser's attestation response against the session's pending challenge and store the
    credential. 400 ``passkey_invalid`` (the reason audited) when anything fails."""
    now = timezone.now()
    challenge = (
        PasskeyChallenge.objects.select_for_update()
        .filter(
            purpose=PasskeyChallenge.Purpose.REGISTER, user=user, session_id=session_id, expires_at__gt=now
        )
        .order_by("-expires_at")
        .first()
    )
    if challenge is None:
        _registration_refused(user, "no_challenge")
    challenge.delete()  # single use (a refusal rolls this back: the session may try again until it expires)
    try:
        parsed = parse_registration_credential_json(credential)
        if _cross_origin(parsed.response.client_data_json):
            _registration_refused(user, "cross_origin")
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=bytes(challenge.challenge),
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS,
            require_user_verification=True,
        )
    except MALFORMED as error:
        _registration_refused(user, _reason(error))
    try:
        with transaction.atomic():  # a credential already registered, by anyone: the unique constraint
            passkey = Passkey.objects.create(
                user=user,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=[transport.value for transport in parsed.response.transports or []],
                device_type=verified.credential_device_type.value,
                backed_up=verified.credential_backed_up,
                aaguid=verified.aaguid,
                name=name or "Passkey",
            )
    except IntegrityError:
        _registration_refused(user, "credential_registered")
    audit_record(
        AuditEventType.PASSKEY_REGISTERED,
        subject_user_id=user.pk,
        subject=passkey,
        details={"name": passkey.name, "device_type": passkey.device_type},
    )
    return passkey


def _registration_refused(user: User, reason: str):
    audit_record_after_request(
        AuditEventType.PASSKEY_REFUSED,
        subject_user_id=user.pk,
        details={"ceremony": "register", "reason": reason},
    )
    raise PasskeyRejected()


# --- Sign-in -------------------------------------------------------------------------------------------


def login_options(*, email: str | None) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptions (user verification required) and the ``challenge_id`` to send
    back. With ``email``, the account's passkeys are the allow-list; an address without any gets a
    stand-in credential derived from it, so the answer does not tell whether the account exists."""
    allow: list[PublicKeyCredentialDescriptor] = []
    if email:
        owned = Passkey.objects.filter(user__email=normalize_email(email), user__is_active=True)
        allow = _allow_list(email, [bytes(passkey.credential_id) for passkey in owned])
    challenge = _challenge_new(PasskeyChallenge.Purpose.LOGIN)
    options = generate_authentication_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        challenge=bytes(challenge.challenge),
        timeout=settings.WEBAUTHN_CHALLENGE_SECONDS * 1000,
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return {**options_to_json_dict(options), "challenge_id": str(challenge.pk)}


def login(*, challenge_id: uuid.UUID, credential: dict[str, Any], meta: RequestMeta) -> SignIn:
    """Verify an assertion and sign its passkey's user in. 401 ``passkey_invalid`` for an unknown, used or
    expired challenge, an unknown credential, a wrong origin or RP ID, no user verification, a counter that
    went backwards, a bad signature: nothing is written then but the challenge's end and the audit event.
    Call it outside a transaction (the refusal's event must stay)."""
    try:
        return _login(challenge_id, credential, meta)
    except Refused as refused:
        audit_record(
            AuditEventType.PASSKEY_REFUSED,
            actor_user_id=None,
            subject_user_id=refused.user_id,
            details={"ceremony": "login", "reason": refused.reason},
            meta=meta,
            durable=True,
        )
        raise PasskeyInvalid() from None


def _login(challenge_id: uuid.UUID, credential: dict[str, Any], meta: RequestMeta) -> SignIn:
    with transaction.atomic():  # spent at once, whatever follows: a challenge answers one assertion
        challenge = (
            PasskeyChallenge.objects.select_for_update()
            .filter(pk=challenge_id, purpose=PasskeyChallenge.Purpose.LOGIN)
            .first()
        )
        if challenge is not None:
            challenge.delete()
    if challenge is None:
        raise Refused("unknown_challenge")
    if challenge.expires_at <= timezone.now():
        raise Refused("expired_challenge")
    try:
        parsed = parse_authentication_credential_json(credential)
    except MALFORMED:
        raise Refused("malformed") from None
    passkey = Passkey.objects.select_related("user").filter(credential_id=parsed.raw_id).first()
    if passkey is None:
        raise Refused("unknown_credential")
    user = passkey.user
    handle = parsed.response.user_handle
    if handle and handle != user.pk.bytes:
        raise Refused("user_handle_mismatch", user.pk)
    try:
        if _cross_origin(parsed.response.client_data_json):
            raise Refused("cross_origin", user.pk)
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=bytes(challenge.challenge),
            expected_rp_id=settings.WEBAUTHN_RP_ID,
            expected_origin=settings.WEBAUTHN_ORIGINS,
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except MALFORMED as error:
        raise Refused(_reason(error), user.pk) from None
    if not user.is_active:
        raise Refused("inactive_user", user.pk)
    with transaction.atomic():
        # The counter moves only forward; a concurrent use of the same counter value loses.
        if not Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
            sign_count=verified.new_sign_count,
            last_used_at=timezone.now(),
            backed_up=verified.credential_backed_up,
        ):
            raise Refused("sign_count_race", user.pk)
        amr = ["swk"] if passkey.device_type == "multi_device" else ["hwk"]
        result = sign_in(user=user, method="passkey", amr=amr, meta=meta)
        audit_record(
            AuditEventType.PASSKEY_USED,
            actor_user_id=user.pk,
            subject_user_id=user.pk,
            subject=passkey,
            details={"name": passkey.name},
            meta=meta,
        )
    return result


# --- The user's passkeys ---------------------------------------------------------------------------------


def passkeys_of(user: User) -> list[Passkey]:
    return list(Passkey.objects.filter(user=user).order_by("created_at"))


def rename(*, user: User, passkey_id: uuid.UUID, name: str) -> Passkey:
    passkey = _own(user, passkey_id)
    passkey.name = name
    passkey.save(update_fields=["name"])
    audit_record(
        AuditEventType.PASSKEY_RENAMED, subject_user_id=user.pk, subject=passkey, details={"name": name}
    )
    return passkey


@transaction.atomic(savepoint=False)
def delete(*, user: User, passkey_id: uuid.UUID) -> None:
    """Remove a passkey, unless it is the user's last way to sign in (409 ``last_sign_in_method``)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    passkey = _own(locked, passkey_id)
    if not sign_in_method_remains(locked, passkey_id=passkey.pk):
        raise LastSignInMethod()
    audit_record(
        AuditEventType.PASSKEY_DELETED,
        subject_user_id=user.pk,
        subject=passkey,
        details={"name": passkey.name},
    )
    passkey.delete()


def _own(user: User, passkey_id: uuid.UUID) -> Passkey:
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise NotFound("Passkey not found.", code="passkey_not_found")
    return passkey


# --- Helpers -------------------------------------------------------------------------------------------


def _challenge_new(
    purpose: str, *, user: User | None = None, session_id: uuid.UUID | None = None
) -> PasskeyChallenge:
    """A new challenge; the dead ones go (a few at a time: the table stays small without a cron job)."""
    now = timezone.now()
    dead = PasskeyChallenge.objects.filter(expires_at__lt=now).values("pk")[:50]
    PasskeyChallenge.objects.filter(pk__in=dead).delete()
    return PasskeyChallenge.objects.create(
        purpose=purpose,
        challenge=generate_challenge(),
        user=user,
        session_id=session_id,
        expires_at=now + timedelta(seconds=settings.WEBAUTHN_CHALLENGE_SECONDS),
    )


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        id=bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(transport) for transport in passkey.transports],
    )


def _allow_list(email: str, owned: list[bytes]) -> list[PublicKeyCredentialDescriptor]:
    """The allow-list for ``email``: its passkeys' ids, padded with stand-ins derived from the address (as
    many as 1-3, of 16-64 bytes, fixed per address) and shuffled by them, without transports: an address
    without passkeys, or without an account, answers in the same shape, the same every time."""
    seed = hmac.new(
        settings.SECRET_KEY.encode(), b"passkey-stand-in:" + normalize_email(email).encode(), "sha512"
    ).digest()
    wanted = 1 + seed[0] % 3
    stand_ins = [
        hmac.new(seed, bytes([index]), "sha512").digest()[: 16 * (1 + seed[1 + index] % 4)]
        for index in range(max(0, wanted - len(owned)))
    ]
    ids = sorted(
        owned + stand_ins, key=lambda credential_id: hmac.new(seed, credential_id, "sha256").digest()
    )
    return [PublicKeyCredentialDescriptor(id=credential_id) for credential_id in ids]


# py_webauthn's messages, by how they begin (what follows may quote the attacker's data: never searched).
_REASONS = (
    ("Unexpected client data origin", "wrong_origin"),
    ("Unexpected RP ID hash", "wrong_rp_id"),
    ("User verification is required", "user_not_verified"),
    ("User presence was required", "user_not_present"),
    ("User was not present", "user_not_present"),
    ("Response sign count", "sign_count_regression"),
    ("Client data challenge", "wrong_challenge"),
    ("Unexpected client data type", "wrong_type"),
    ("Could not verify authentication signature", "bad_signature"),
)


def _reason(error: Exception) -> str:
    """A short reason for the audit log."""
    message = str(error)
    return next((reason for start, reason in _REASONS if message.startswith(start)), "invalid_response")


def _cross_origin(client_data_json: bytes) -> bool:
    """Whether the page that ran the ceremony was framed by another origin (``crossOrigin``: py_webauthn
    parses it but leaves the decision to us). Our pages are never meant to run in someone else's frame."""
    return bool(parse_client_data_json(client_data_json).cross_origin)
