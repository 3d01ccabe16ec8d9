from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "passkeys"
    verbose_name = "Passkeys"

    def ready(self) -> None:
        from passkeys import checks  # noqa: F401  (registers the start-up checks)
