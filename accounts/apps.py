"""App config: wires the signal receivers that must see every user, however it is created."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # allauth's `account` app is "Accounts" too: two admin sections of one name confuse.
    verbose_name = "Warden"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401
