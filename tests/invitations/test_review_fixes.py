"""What the security review of organizations and invitations found, pinned by tests."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from invitations.models import Invitation
from tenants.models import Membership
from tenants.rls.context import cross_tenant
from tests.api import bearer
from tests.invitations.helpers import (
    INVITATIONS,
    accept,
    assert_invalid,
    create,
    invite,
    resend,
    validate,
)

NEW = "new@example.com"


@pytest.mark.django_db
def test_an_invitation_dies_with_its_inviters_removal(
    api_client, org, ada_access, grace, grace_access, mailoutbox
):
    """A rogue admin cannot leave admin invitations to their own other addresses and come back by them."""
    _, token = invite(api_client, grace_access, mailoutbox, NEW, "admin")
    grace_membership = Membership.objects.get(org=org, user=grace)
    api_client.delete(f"/api/auth/org/members/{grace_membership.pk}/", **bearer(ada_access))

    assert_invalid(validate(api_client, token))
    assert_invalid(accept(api_client, token, password="a fine new passphrase 1"))
    with cross_tenant():
        assert not Membership.objects.filter(user__email=NEW).exists()


@pytest.mark.django_db
def test_an_invitation_dies_when_its_inviter_is_demoted_below_its_role(
    api_client, org, ada_access, grace, grace_access, mailoutbox
):
    _, token = invite(api_client, grace_access, mailoutbox, NEW, "admin")
    grace_membership = Membership.objects.get(org=org, user=grace)
    api_client.patch(
        f"/api/auth/org/members/{grace_membership.pk}/",
        {"role": "member"},
        format="json",
        **bearer(ada_access),
    )

    assert_invalid(accept(api_client, token, password="a fine new passphrase 1"))


@pytest.mark.django_db
def test_an_admin_cannot_keep_an_owners_invitation_alive(
    api_client, org, ada_access, grace_access, mailoutbox
):
    body, _ = invite(api_client, ada_access, mailoutbox, NEW, "owner")

    response = resend(api_client, grace_access, body["id"])

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "insufficient_role"


@pytest.mark.django_db
def test_invitation_mail_is_throttled_per_invited_address_and_per_org(
    api_client, settings, org, ada_access, mailoutbox
):
    rates = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "invitation_send_email": "2/hour",
        "invitation_send_org": "4/hour",
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    body, _ = invite(api_client, ada_access, mailoutbox, NEW)
    api_client.delete(f"{INVITATIONS}{body['id']}/", **bearer(ada_access))
    assert create(api_client, ada_access, NEW).status_code == HTTPStatus.CREATED

    refused = create(api_client, ada_access, NEW)  # the address's third mail this hour (the org's third slot)
    other = create(api_client, ada_access, "other@example.com")  # the org's fourth
    fourth = create(api_client, ada_access, "fourth@example.com")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS and int(refused["Retry-After"]) > 0
    assert other.status_code == HTTPStatus.CREATED
    assert fourth.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert api_client.get(INVITATIONS, **bearer(ada_access)).status_code == HTTPStatus.OK  # listing is free


@pytest.mark.django_db
def test_resending_keeps_a_bounded_history_of_retired_links(api_client, org, ada_access, mailoutbox):
    body, _ = invite(api_client, ada_access, mailoutbox, NEW)
    for _ in range(15):
        resend(api_client, ada_access, body["id"])

    with cross_tenant():
        invitation = Invitation.objects.get(pk=body["id"])
    assert len(invitation.retired_digests) == Invitation.RETIRED_KEPT
    assert invitation.digest not in invitation.retired_digests


@pytest.mark.django_db
def test_require_mfa_needs_an_owner_with_mfa_on(api_client, org, ada_access):
    """(Refused with 400 until MFA existed; now API.md's rule: only an owner who has MFA on.)"""
    response = api_client.patch("/api/auth/org/", {"require_mfa": True}, format="json", **bearer(ada_access))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "mfa_enrolment_required"
