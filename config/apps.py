from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin, on the site that runs every view through the cross-tenant path."""

    default_site = "config.admin.AuthServiceAdminSite"


class ProjectConfig(AppConfig):
    """The project package as an app, for its management commands (``embedded_postgres``)."""

    name = "config"
