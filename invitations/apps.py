from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"

    def ready(self) -> None:
        from invitations import receivers  # noqa: F401  (connects the account-claim signal)
