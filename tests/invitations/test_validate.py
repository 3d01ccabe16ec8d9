"""invitations/validate/ (public): what the invitee's page shows before accepting; dead links are 400
and recorded (``invitation.refused``), unknown ones 404."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from invitations.models import Invitation
from tenants.audit import AuditEventType as E
from tenants.rls.context import cross_tenant
from tests.audit.helpers import events, only
from tests.invitations.helpers import (
    NEW_PASSWORD,
    VALIDATE,
    accept,
    assert_invalid,
    invite,
    mailed_token,
    resend,
    revoke,
    row,
    validate,
)

NEW = "new@example.com"


@pytest.mark.django_db
def test_a_pending_invitation_validates(api_client, org, ada_access, mailoutbox):
    _, token = invite(api_client, ada_access, mailoutbox, NEW, "admin")

    response = validate(api_client, token)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "valid": True,
        "email": NEW,
        "organization": {"id": str(org.id), "name": "Acme"},
        "invited_by": "ada@example.com",  # no name: the inviter's address
        "role": "admin",
    }


@pytest.mark.django_db
def test_invited_by_is_the_inviters_name(api_client, org, grace_access, mailoutbox):
    _, token = invite(api_client, grace_access, mailoutbox, NEW)

    assert validate(api_client, token).json()["invited_by"] == "Grace Hopper"


@pytest.mark.django_db
def test_validating_spends_nothing(api_client, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)

    for _ in range(3):
        assert validate(api_client, token).status_code == HTTPStatus.OK

    assert row(body["id"]).status == "pending"
    assert accept(api_client, token, password=NEW_PASSWORD).status_code == HTTPStatus.CREATED
    assert events(type=E.INVITATION_REFUSED) == []


@pytest.mark.django_db
def test_an_expired_invitation_is_a_400_and_recorded(api_client, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    with cross_tenant():
        Invitation.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_invalid(validate(api_client, token))

    event = only(E.INVITATION_REFUSED)
    assert (event.org_id, event.actor_user_id, event.subject_id) == (org.id, None, body["id"])
    assert event.details == {"email": NEW, "role": "member", "status": "expired", "via": "validate"}


@pytest.mark.django_db
def test_a_used_invitation_is_a_400_and_recorded(api_client, org, ada_access, mailoutbox):
    _, token = invite(api_client, ada_access, mailoutbox, NEW)
    assert accept(api_client, token, password=NEW_PASSWORD).status_code == HTTPStatus.CREATED

    assert_invalid(validate(api_client, token))

    assert only(E.INVITATION_REFUSED).details["status"] == "accepted"


@pytest.mark.django_db
def test_a_revoked_invitation_is_a_400_and_recorded(api_client, org, ada_access, mailoutbox):
    body, token = invite(api_client, ada_access, mailoutbox, NEW)
    revoke(api_client, ada_access, body["id"])

    assert_invalid(validate(api_client, token))

    assert only(E.INVITATION_REFUSED).details["status"] == "revoked"


@pytest.mark.django_db
def test_a_link_replaced_by_a_resend_is_a_400(api_client, org, ada_access, mailoutbox):
    body, old_token = invite(api_client, ada_access, mailoutbox, NEW)
    resend(api_client, ada_access, body["id"])
    new_token = mailed_token(mailoutbox, NEW)

    assert_invalid(validate(api_client, old_token))
    assert validate(api_client, new_token).status_code == HTTPStatus.OK
    assert only(E.INVITATION_REFUSED).details["via"] == "validate"


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["A" * 43, "x", "not-a-token-at-all"])
def test_an_unknown_token_is_a_404(api_client, org, ada_access, mailoutbox, token):
    invite(api_client, ada_access, mailoutbox, NEW)

    response = validate(api_client, token)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "No such invitation.", "code": "invitation_not_found"}
    assert events(type=E.INVITATION_REFUSED) == []


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{}, {"token": ""}, {"token": "x" * 129}])
def test_a_missing_or_malformed_token_is_a_400(api_client, query):
    response = api_client.get(VALIDATE, query)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["token"]


@pytest.mark.django_db
def test_validate_needs_no_credentials_and_ignores_them(api_client, org, ada_access, mailoutbox):
    _, token = invite(api_client, ada_access, mailoutbox, NEW)

    response = validate(api_client, token, HTTP_AUTHORIZATION="Bearer garbage")

    assert response.status_code == HTTPStatus.OK
