"""Signing in with a verified external identity, and the identities linked to a user."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.models import User, normalize_email
from accounts.services.sign_in import SignIn, sign_in
from accounts.services.users import (
    LastSignInMethod,
    email_prove,
    sign_in_method_remains,
    signup_allowed,
    user_create,
)
from accounts.services.users import SignupDisabled as UsersSignupDisabled
from core.errors import Conflict, Forbidden, NotFound
from core.http import RequestMeta
from social.models import SocialIdentity
from social.providers import ExternalIdentity, Refusal
from tenants.audit import AuditEventType, audit_record


class AccountExists(Refusal, Conflict):
    default_code = "account_exists"
    default_detail = (
        "An account with this email already exists, and the provider is not authoritative for the "
        "address. Sign in with your password or an emailed link instead."
    )
    reason = "not_authoritative"


class SubjectChanged(AccountExists):
    default_detail = (
        "This address belongs to an account linked to another account at the provider. Sign in with your "
        "password or an emailed link instead."
    )
    reason = "subject_changed"


class AccountDisabled(Refusal, Forbidden):
    default_code = "account_disabled"
    default_detail = "This account is disabled."
    reason = "inactive_user"


class SignupDisabled(Refusal, UsersSignupDisabled):
    reason = "signup_disabled"


def _create_user(identity: ExternalIdentity, meta: RequestMeta) -> tuple[User, bool]:
    """A new account for the identity's address (no usable password, verified by the provider)."""
    if not signup_allowed():
        raise SignupDisabled()
    user = user_create(
        email=identity.email,
        first_name=identity.given_name,
        last_name=identity.family_name,
        email_verified=True,
        method=identity.provider,
        meta=meta,
    )
    if user is None:  # registered meanwhile by another route: treat it as existing
        return User.objects.get(email=normalize_email(identity.email)), False
    return user, True


def _link(user: User, identity: ExternalIdentity, meta: RequestMeta) -> SocialIdentity:
    row = SocialIdentity.objects.create(
        user=user, provider=identity.provider, subject=identity.subject, email=normalize_email(identity.email)
    )
    audit_record(
        AuditEventType.IDENTITY_LINKED,
        actor_user_id=user.pk,
        subject_user_id=user.pk,
        subject=row,
        details={"provider": identity.provider},
        meta=meta,
    )
    return row


def _identity_row(identity: ExternalIdentity) -> SocialIdentity | None:
    return (
        SocialIdentity.objects.select_for_update()
        .filter(provider=identity.provider, subject=identity.subject)
        .first()
    )


@transaction.atomic(savepoint=False)
def external_sign_in(*, identity: ExternalIdentity, meta: RequestMeta) -> SignIn:
    """Sign in the user of a verified external identity, linking or creating the account on first use.

    * Known ``(provider, sub)``: its user, whatever address the provider now gives.
    * Otherwise an account with the same address is linked only when the provider is authoritative for
      it (Gmail, a Workspace ``hd`` of the address's domain) and the account has no other identity at
      that provider (a new ``sub`` for a linked address means the address was given to someone else);
      else 409 ``account_exists``, never a silent merge. An account that was unverified is then claimed
      (``accounts.services.users.email_prove``): a stranger who registered the address first keeps no
      password and no session.
    * Otherwise a new account (no usable password), when sign-up is allowed (403 ``signup_disabled``).
    """
    row = _identity_row(identity)
    created = False
    if row is None:
        user = User.objects.filter(email=normalize_email(identity.email)).first()
        if user is None:
            user, created = _create_user(identity, meta)
        if not created:
            row = _identity_row(identity)  # linked meanwhile by a concurrent first sign-in (a double submit)
        if row is None and not created:
            if not identity.authoritative:
                raise AccountExists()
            # (Not for an unverified account: an identity on it may be a squatter's, which the claim
            # below removes; else the squatter's own link would keep the address's owner out.)
            if (
                user.email_verified
                and SocialIdentity.objects.filter(user=user, provider=identity.provider).exists()
            ):
                raise SubjectChanged()
    if row is not None:
        user = User.objects.get(pk=row.user_id)
        row.last_used_at = timezone.now()
        row.save(update_fields=["last_used_at"])
    if not user.is_active:
        raise AccountDisabled()
    # Only a provider authoritative for the address proves it to an existing account. First: a claim
    # removes the identities the registrant linked, never the one proving the address now (``row``, or
    # linked below).
    if normalize_email(identity.email) == user.email and (created or identity.authoritative):
        email_prove(user, via=identity.provider, created=created, keep_identity_id=row.pk if row else None)
    if row is None:
        _link(user, identity, meta)
    return sign_in(user=user, method=identity.provider, amr=["ext"], meta=meta, created=created)


def refusal_record(refusal: Refusal, *, provider: str, meta: RequestMeta) -> None:
    """Record a refused external sign-in with its reason (``sign_in.failed``), committed on its own:
    the request fails, the event stays. Call it outside any transaction."""
    audit_record(
        AuditEventType.SIGN_IN_FAILED,
        actor_user_id=None,
        details={"method": provider, "reason": refusal.reason},
        meta=meta,
        durable=True,
    )


def identities_of(user: User) -> list[SocialIdentity]:
    return list(SocialIdentity.objects.filter(user=user).order_by("created_at"))


@transaction.atomic(savepoint=False)
def identity_unlink(*, user: User, identity_id: uuid.UUID) -> None:
    """Remove one of the user's linked identities, unless it is their last way to sign in (409
    ``last_sign_in_method``: no usable password, no other identity, no passkey). 404 for another user's."""
    locked = User.objects.select_for_update().get(pk=user.pk)  # two removals at once can't both pass
    row = SocialIdentity.objects.filter(user=locked, pk=identity_id).first()
    if row is None:
        raise NotFound("Identity not found.", code="identity_not_found")
    if not sign_in_method_remains(locked, identity_id=row.pk):
        raise LastSignInMethod()
    row.delete()
    audit_record(
        AuditEventType.IDENTITY_UNLINKED,
        subject_user_id=locked.pk,
        details={"provider": row.provider, "identity_id": str(identity_id)},
    )
