"""manage.py create_oidc_client NAME --redirect-uri URI: register an app that signs in with
Warden (OpenID Connect); prints its credentials as JSON, once."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.flows.oidc.clients import GRANTS, SCOPES, oidc_client_create
from accounts.models import ServiceClient


class Command(BaseCommand):
    help = (
        'Register an OpenID Connect client; prints {"client_id", "client_secret"} as JSON '
        "(client_secret is null for a public client). The secret is shown once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        parser.add_argument("--public", action="store_true", help="no secret; PKCE required")
        parser.add_argument("--first-party", action="store_true", help="never ask for consent")
        parser.add_argument(
            "--post-logout-redirect-uri", action="append", default=[], dest="logout_uris"
        )
        parser.add_argument("--backchannel-logout-uri", default="")
        parser.add_argument("--scope", action="append", dest="scopes", choices=SCOPES)
        parser.add_argument("--grant", action="append", dest="grants", choices=GRANTS)
        parser.add_argument("--device", action="store_true", help="also the device flow")
        parser.add_argument("--require-par", action="store_true")
        parser.add_argument("--logo-uri", default="")

    def handle(self, *args, name: str, **options) -> None:
        if ServiceClient.objects.filter(name=name).exists():
            raise CommandError(f"A client named {name!r} already exists.")
        grants = options["grants"] or ["authorization_code", "refresh_token"]
        if options["device"]:
            grants = [*grants, "urn:ietf:params:oauth:grant-type:device_code"]
        try:
            client, secret = oidc_client_create(
                name=name,
                redirect_uris=options["redirect_uris"],
                public=options["public"],
                first_party=options["first_party"],
                post_logout_redirect_uris=options["logout_uris"],
                backchannel_logout_uri=options["backchannel_logout_uri"],
                scopes=options["scopes"],
                grant_types=grants,
                logo_uri=options["logo_uri"],
                require_par=options["require_par"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(json.dumps({"client_id": client.client_id, "client_secret": secret}))
