from tenants.db import tenant_context
from tenants.models import Profile


def test_owner_profile_visible_in_its_org(org, user):
    with tenant_context(org.id):
        assert list(Profile.objects.values_list("user_id", flat=True)) == [user.id]
