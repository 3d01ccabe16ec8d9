from django.apps import AppConfig


class MagicLinksConfig(AppConfig):
    name = "magiclinks"
    verbose_name = "Emailed links"

    def ready(self) -> None:
        from magiclinks import receivers  # noqa: F401  (connects the registration signal)
