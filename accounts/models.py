from __future__ import annotations

import uuid

from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.db.models.functions import Lower, Now
from django.utils import timezone

from tenants.audit import AuditEventType, audit_record


def normalize_email(email: str) -> str:
    """Emails are matched case-insensitively: stored trimmed and lower-cased."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=normalize_email(email), **fields)
        if password is None:
            user.set_unusable_password()  # passwordless users (magic link, Google) until they set one
        else:
            user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login; a user belongs to orgs through ``tenants.Membership``.

    Security rules that hold whatever route changes a user (API, admin, ``manage.py``, code,
    ``QuerySet.update()``, raw SQL), enforced by database triggers:

    * a password change ends every session of the user (migration ``accounts.0004``; a hash upgraded
      at sign-in is not a change, see :meth:`check_password`);
    * deactivation ends every session for good, so reactivating revives none (``accounts.0003``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    email_verified = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # A confirmed authenticator (TotpDevice.confirmed_at): kept here, in the row every request already
    # reads, for the sign-in gate and orgs that require MFA (accounts.services.mfa keeps both in step).
    mfa_enabled = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._loaded_is_active = user.__dict__.get("is_active")
        return user

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_removed = True

    def check_password(self, raw_password: str) -> bool:
        """Django's check, with its hash upgrade marked as one (``app.password_rehash``): the same
        password under a better hasher is no password change, so it ends no session (migration 0004)."""

        def upgrade(raw: str) -> None:
            self.set_password(raw)
            self._password = None  # as Django's own setter: not a change for the validators either
            with transaction.atomic(savepoint=False), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('app.password_rehash', 'on', true)")
                self.save(update_fields=["password"])
                cursor.execute("SELECT set_config('app.password_rehash', '', true)")

        return check_password(raw_password, self.password, upgrade)

    def save(self, *args, **kwargs) -> None:
        """Save, and record a password change, a deactivation or a reactivation (audit, same transaction).

        A flow that changes the password for a reason of its own names the event to record in
        ``password_event`` before saving (``user.password_reset``); otherwise ``user.password_changed``.

        The sessions a password change or a deactivation ends are revoked by the database (triggers of
        migrations 0003 and 0004), whatever route changed the row.
        """
        adding = self._state.adding
        password_changed = not adding and (
            self._password is not None or getattr(self, "_password_removed", False)
        )
        was_active = None if adding else getattr(self, "_loaded_is_active", None)
        with transaction.atomic(savepoint=False):  # the change and its events: all or none
            super().save(*args, **kwargs)
            if password_changed:
                audit_record(
                    getattr(self, "password_event", None) or AuditEventType.USER_PASSWORD_CHANGED,
                    subject_user_id=self.pk,
                    details={"usable": self.has_usable_password()},
                )
            if was_active is not None and was_active != self.is_active:
                event = AuditEventType.USER_REACTIVATED if self.is_active else AuditEventType.USER_DEACTIVATED
                audit_record(event, subject_user_id=self.pk)
        self._password_removed = False
        self.password_event = None
        self._loaded_is_active = self.is_active


class RevokeReason(models.TextChoices):
    """Why a session ended (``Session.revoked_reason``)."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    REVOKED_BY_USER = "revoked_by_user"
    SWITCH_ORG = "switch_org"
    PASSWORD_CHANGED = "password_changed"
    REFRESH_REUSE = "refresh_reuse"
    ACCESS_LOST = "access_lost"
    ADMIN = "admin"
    ACCOUNT_CLAIMED = "account_claimed"  # the address's owner proved it on an unverified account
    MFA_ENABLED = "mfa_enabled"  # the user turned MFA on: sessions that never passed it end
    # Written by the database triggers (migrations accounts.0003 and, for PASSWORD_CHANGED, 0004):
    USER_DEACTIVATED = "user_deactivated"
    MEMBERSHIP_ENDED = "membership_ended"


def session_alive_sql(alias: str) -> str:
    """:meth:`SessionQuerySet.alive` for the hand-written hot-path queries (same rule, same clock)."""
    return f"{alias}.revoked_at IS NULL AND {alias}.expires_at > statement_timestamp()"  # = Django's Now()


class SessionQuerySet(models.QuerySet):
    def alive(self) -> SessionQuerySet:
        """The one definition of a live session: not revoked and not past its absolute expiry, on the
        database's clock (``session_alive_sql`` is the same rule for raw SQL)."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=Now())

    def revoke(self, *, reason: str) -> int:
        """End these sessions now (those not already revoked); returns how many ended."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=Now(), revoked_reason=reason)


class Session(models.Model):
    """One sign-in: the refresh-token family. A user-level table (no ``org_id``, so not under RLS).

    Only token ids are stored, never tokens. ``refresh_jti`` is the one live refresh token;
    ``previous_refresh_jti`` + ``rotated_at`` let a racing duplicate of the just-spent token get the
    same successor pair within the grace window (``accounts.services.sessions``; the pair is a pure
    function of the row, ``accounts.tokens``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    active_org = models.ForeignKey(
        "tenants.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    membership = models.ForeignKey(
        "tenants.Membership", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True, choices=RevokeReason.choices)
    # How the user signed in, as RFC 8176 "amr" values (e.g. ["pwd"]); carried by the access token.
    amr = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # The live token pair: its ids and its issue time (JWT "iat", whole seconds).
    refresh_jti = models.UUIDField(default=uuid.uuid4)
    access_jti = models.UUIDField(default=uuid.uuid4)
    issued_at = models.BigIntegerField()
    previous_refresh_jti = models.UUIDField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # When the user last proved who they are in this session: its sign-in, or reauthenticate/. Sensitive
    # actions need it within AUTH_REAUTH_MINUTES (step-up).
    authenticated_at = models.DateTimeField(default=timezone.now)

    objects = SessionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="session_user_revoked_idx"),
            # For sessions_purge: ended sessions are found by when they ended, not by a scan.
            models.Index(fields=["expires_at"], name="session_expires_idx"),
            models.Index(
                fields=["revoked_at"],
                name="session_revoked_idx",
                condition=models.Q(revoked_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.id} of {self.user_id}"


class TotpDevice(models.Model):
    """A user's authenticator app (RFC 6238: SHA-1, 30 s, 6 digits). User-level, like sessions.

    ``secret`` is the base32 secret encrypted with a key derived from the settings
    (``accounts.services.mfa``), never stored in plaintext. Until ``confirmed_at`` it is only a proposal
    (``mfa/totp/setup/``). ``last_step`` is the time step of the last code accepted: a code counts once.

    Guessing is capped per account, whatever the endpoint (``accounts.services.mfa``): ``failed_codes``
    counts wrong codes in a row; at ``MFA_MAX_FAILED_CODES`` the account's codes are refused until
    ``locked_until``, a wait that doubles with each of the ``lockouts`` since the last right code.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="totp")
    secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    failed_codes = models.PositiveSmallIntegerField(default=0)
    lockouts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"authenticator of {self.user_id}"


class RecoveryCode(models.Model):
    """One single-use recovery code, as a keyed digest (the code is shown once, at enrolment)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class MfaChallenge(models.Model):
    """A sign-in waiting for its second factor: the ``mfa_token`` (as a digest) and the first step's
    outcome (method, ``amr``, org), so that ``mfa/verify/`` finishes exactly the sign-in that started it.
    Short-lived, single-use, attempt-capped."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64, unique=True)
    # A digest of the password hash at the first step: a password change in between voids the challenge.
    password_fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=32)
    amr = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    org_reference = models.CharField(max_length=220, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"MFA challenge of {self.user_id}"
