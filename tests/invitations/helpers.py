"""Endpoints and steps of the invitation tests: invite, read the emailed token, validate, accept."""

from __future__ import annotations

import uuid
from http import HTTPStatus

from django.conf import settings

from invitations.models import Invitation
from tenants.models import Membership
from tenants.rls.context import cross_tenant
from tests.api import AUTH, bearer, login
from tests.magiclinks.helpers import only_mail, token_in

INVITATIONS = f"{AUTH}/org/invitations/"
VALIDATE = f"{AUTH}/invitations/validate/"
ACCEPT = f"{AUTH}/invitations/accept/"
NEW_PASSWORD = "a brand new passphrase 42"


def invitation_url(invitation_id) -> str:
    return f"{INVITATIONS}{invitation_id}/"


def resend_url(invitation_id) -> str:
    return f"{INVITATIONS}{invitation_id}/resend/"


def invite_prefix() -> str:
    return f"{settings.FRONTEND_URL}/invite/"


def access_for(client, email: str, **extra) -> str:
    response = login(client, email, **extra)
    assert response.status_code == HTTPStatus.OK, response.json()
    return response.json()["access"]


def create(client, access: str, email: str, role: str | None = None):
    body = {"email": email} if role is None else {"email": email, "role": role}
    return client.post(INVITATIONS, body, format="json", **bearer(access))


def mailed_token(outbox: list, to: str) -> str:
    """The token of the one invitation mail in ``outbox`` (which is emptied)."""
    token = token_in(only_mail(outbox, to), invite_prefix())
    outbox.clear()
    return token


def invite(client, access: str, outbox: list, email: str, role: str = "member") -> tuple[dict, str]:
    """Invite ``email``; the 201 body and the emailed token (the outbox is emptied)."""
    outbox.clear()
    response = create(client, access, email, role)
    assert response.status_code == HTTPStatus.CREATED, response.content
    return response.json(), mailed_token(outbox, email)


def resend(client, access: str, invitation_id):
    return client.post(resend_url(invitation_id), **bearer(access))


def revoke(client, access: str, invitation_id):
    return client.delete(invitation_url(invitation_id), **bearer(access))


def validate(client, token: str, **extra):
    return client.get(VALIDATE, {"token": token}, **extra)


def accept(client, token: str, access: str | None = None, **body):
    headers = bearer(access) if access else {}
    return client.post(ACCEPT, {"token": token, **body}, format="json", **headers)


def row(invitation_id) -> Invitation:
    with cross_tenant():
        return Invitation.objects.get(pk=invitation_id)


def memberships_of(email: str, org=None) -> list[Membership]:
    with cross_tenant():
        found = Membership.objects.filter(user__email=email)
        if org is not None:
            found = found.filter(org=org)
        return list(found)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()


def assert_invalid(response) -> None:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert response.json() == {
        "detail": "This invitation has expired, was already used, or was revoked.",
        "code": "invitation_invalid",
    }


def unknown_id() -> uuid.UUID:
    return uuid.uuid4()
