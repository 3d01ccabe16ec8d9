"""The per-account cap on wrong second-factor codes (accounts.services.mfa: TotpDevice.failed_codes,
lockouts, locked_until)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_session_purge_indexes")]

    operations = [
        migrations.AddField(
            model_name="totpdevice", name="failed_codes", field=models.PositiveSmallIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="totpdevice", name="lockouts", field=models.PositiveSmallIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="totpdevice", name="locked_until", field=models.DateTimeField(blank=True, null=True)
        ),
    ]
