"""manage.py warden_setup: first-start chores for `make run`, and a word to the newcomer."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts import tokens


class Command(BaseCommand):
    help = "Ensure a signing key exists and print where to sign in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host: str, port: str, **options) -> None:
        key = tokens.signing_key_ensure()
        base = f"http://{host}:{port}"
        has_admin = get_user_model().objects.filter(is_superuser=True).exists()
        lines = [
            "",
            f"Warden is starting on {base}",
            f"  Sign up / sign in:  {base}/accounts/login/",
            f"  Admin:              {base}/admin/",
            f"  API docs:           {base}/api/docs/",
            f"  Signing key:        {key.kid} ({key.algorithm})",
            "  Verification emails are printed in this terminal.",
        ]
        if not has_admin:
            lines.append("  No admin yet: run `make superuser` in another terminal to create one.")
        self.stdout.write("\n".join(lines) + "\n")
