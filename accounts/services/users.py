"""Changes to the account itself."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import RevokeReason, Session, User, normalize_email
from accounts.services.passwords import password_validate
from accounts.services.sign_in import SignIn, sign_in
from accounts.signals import account_claimed
from core.errors import Conflict, Forbidden, InvalidInput
from core.http import RequestMeta
from tenants.audit import AuditEventType, audit_record
from tenants.models import Membership


def signup_allowed() -> bool:
    """Whether someone may make themselves an account by asking (registration, a first magic link, a first
    provider sign-in): ``AUTH_ALLOW_SIGNUP``. The one rule; an invitation is an org's decision, not this."""
    return settings.AUTH_ALLOW_SIGNUP


class SignupDisabled(Forbidden):
    """403 ``signup_disabled``: what a way in answers when :func:`signup_allowed` says no."""

    default_code = "signup_disabled"
    default_detail = "Sign-up is disabled."


def user_create(
    *,
    email: str,
    method: str,
    meta: RequestMeta | None,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email_verified: bool = False,
    audit: bool = True,
) -> User | None:
    """Make an account: the one place, whatever the way in (``method``: ``registration``, ``magic_link``,
    ``invitation``, a provider's name). ``password`` ``None`` makes one without a usable password. The new
    account is recorded (``user.registered``, ``details.method``) unless ``audit`` is off, for a caller that
    records it itself with :func:`user_registered_record` once it knows more (registration: its new org).

    Returns ``None`` when the address got an account meanwhile (another route won the unique constraint,
    in its own savepoint here): what that means is the caller's to say (409, sign in first, that account).
    Sign-up rules (:func:`signup_allowed`), password strength and who may ask stay with the caller."""
    email = normalize_email(email)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                email_verified=email_verified,
            )
    except IntegrityError:
        return None
    if audit:
        user_registered_record(user, method=method, meta=meta)
    return user


def user_registered_record(
    user: User, *, method: str, meta: RequestMeta | None, org_id=None
) -> None:
    """``user.registered`` for a new account: its own act (the actor), under ``org_id`` when it made one."""
    audit_record(
        AuditEventType.USER_REGISTERED,
        org_id=org_id,
        actor_user_id=user.pk,
        subject_user_id=user.pk,
        details={"method": method},
        meta=meta,
    )


@transaction.atomic(savepoint=False)
def user_update(*, user: User, first_name: str | None = None, last_name: str | None = None) -> User:
    """Change the user's names (only those given)."""
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    return user


class InvalidPassword(InvalidInput):
    default_code = "invalid_password"
    default_detail = "The current password is wrong."


@transaction.atomic(savepoint=False)
def password_change(
    *,
    user: User,
    membership: Membership | None,
    amr: Sequence[str],
    current_password: str,
    new_password: str,
    meta: RequestMeta,
) -> SignIn:
    """Change the signed-in user's password and sign them in again, in the org they were acting in.

    The change ends every session of the user, the caller's too (the password-change trigger, whatever
    route changed it); the caller carries on with the new session's pair. 400 ``invalid_password`` for a
    wrong current password (also for an account without a usable one: it sets one through
    ``password/forgot/``), 400 on ``new_password`` for a weak one.
    """
    # Locked and read afresh: a password reset or another change committing meanwhile is either seen
    # here (the current password then checked against it) or waits for this one.
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(current_password):
        raise InvalidPassword()
    password_validate(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return sign_in(
        user=user,
        method="password_change",
        amr=list(dict.fromkeys([*amr, "pwd"])),  # the caller's factors (a second one too) carry over
        meta=meta,
        org_reference=str(membership.org_id) if membership else None,
    )


def email_mark_verified(user: User, *, via: str, claimed: bool = False) -> None:
    """Mark ``user``'s address verified (once), recording how (and whether :func:`account_claim` ran)."""
    if user.email_verified:
        return
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    details = {"via": via, **({"claimed": True} if claimed else {})}
    audit_record(AuditEventType.USER_EMAIL_VERIFIED, subject_user_id=user.pk, details=details)


def account_claim(user: User, *, via: str, keep_identity_id=None) -> None:
    """The owner of the address of an unverified account has just proved it (a magic link, a provider
    that is authoritative for it, a password reset, a verification link opened outside the account's own
    session) — and may not be who registered it: anyone can register an address they do not own, add
    their own ways in, then wait (account pre-hijacking). So everything the registrant could have set up
    goes, in the caller's transaction: the password (the owner sets one with ``password/forgot/``), every
    session, the passkeys, the linked identities (but ``keep_identity_id``: the one proving the address
    right now), the authenticator with its recovery codes and any pending MFA sign-in, and through the
    ``account_claimed`` signal what it set up in orgs (the API keys it made, the invitations it sent that
    are still pending). One audit event, ``user.account_claimed``, says what was removed.

    Passkeys and identities are reached through their reverse relations: this layer imports no feature app
    (as :func:`sign_in_method_remains`)."""
    from accounts.services.mfa import mfa_remove  # mfa -> sessions -> sign_in -> users: import late

    # Against a concurrent enrolment or link. ``user`` itself is changed: the caller signs it in next, and
    # the sign-in checks the password it holds against the row's.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    removed = []
    # First, so that every session ends for this reason (the password change below would end them too).
    if Session.objects.filter(user_id=user.pk).revoke(reason=RevokeReason.ACCOUNT_CLAIMED):
        removed.append("sessions")
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        removed.append("password")
    if user.passkeys.all().delete()[0]:
        removed.append("passkeys")
    if user.social_identities.exclude(pk=keep_identity_id).delete()[0]:
        removed.append("identities")
    if mfa_remove(user):
        removed.append("mfa")
    for _, names in account_claimed.send(sender=User, user=user):  # API keys, pending invitations
        removed.extend(names or ())
    audit_record(
        AuditEventType.USER_ACCOUNT_CLAIMED,
        subject_user_id=user.pk,
        details={"via": via, "removed": removed},
    )


def email_prove(user: User, *, via: str, created: bool, keep_identity_id=None) -> None:
    """The person signing in has just proved they own ``user``'s address (``via`` a magic link, a
    provider, a reset link): an existing account that was unverified is claimed (:func:`account_claim`),
    then marked verified."""
    claimed = not created and not user.email_verified
    if claimed:
        account_claim(user, via=via, keep_identity_id=keep_identity_id)
    email_mark_verified(user, via=via, claimed=claimed)


class LastSignInMethod(Conflict):
    default_code = "last_sign_in_method"
    default_detail = (
        "This is your only way to sign in: set a password (password/forgot/), link another account or add "
        "a passkey first."
    )


def sign_in_method_remains(user: User, *, identity_id=None, passkey_id=None) -> bool:
    """Whether ``user`` can still sign in without the linked identity ``identity_id`` or the passkey
    ``passkey_id``: a usable password, another identity, or another passkey (through the reverse relations:
    this layer imports no feature app). Call it with the user's row locked (``select_for_update``), so two
    removals at once can't both pass."""
    return (
        user.has_usable_password()
        or user.social_identities.exclude(pk=identity_id).exists()
        or user.passkeys.exclude(pk=passkey_id).exists()
    )
