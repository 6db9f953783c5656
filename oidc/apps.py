"""The oidc app: its receivers connect when Django is ready."""

from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "oidc"
    verbose_name = "OpenID Connect"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oidc import signals  # noqa: F401
