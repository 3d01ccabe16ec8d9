from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "passkeys"
    verbose_name = "Passkeys"
