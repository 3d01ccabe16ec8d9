from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import (
            checks,  # noqa: F401  (registers the password-blocklist checks)
            schema,  # noqa: F401  (registers the OpenAPI authentication extension)
        )
