"""One word for a user's place in an org: "membership" (the API keeps calling its id ``profile_id``).

Renaming the table keeps its row-level security: policies belong to the table, not to its name.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("accounts", "0002_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="profile", name="profile_unique_user_org"),
        migrations.RenameModel(old_name="Profile", new_name="Membership"),
        migrations.AlterField(
            model_name="membership",
            name="user",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE,
                related_name="memberships",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(fields=("user", "org"), name="membership_unique_user_org"),
        ),
    ]
