from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apikeys import receivers, schema  # noqa: F401  (the claim's receiver; the OpenAPI auth extension)
