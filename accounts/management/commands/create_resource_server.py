"""manage.py create_resource_server IDENTIFIER --scope S: register an audience (RFC 8707)."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.flows.audiences import resource_server_create
from accounts.models import ResourceServer, SigningKey


class Command(BaseCommand):
    help = 'Register a resource server (a token audience); prints {"identifier": ...} as JSON.'

    def add_arguments(self, parser) -> None:
        parser.add_argument("identifier", help="A URI or a name; its tokens carry it as `aud`.")
        parser.add_argument("--scope", action="append", default=[], dest="scopes")
        parser.add_argument(
            "--claims", default="", help="Extra claims, comma-separated: userId,role"
        )
        parser.add_argument("--lifetime", type=int, help="Access-token lifetime in seconds.")
        parser.add_argument("--algorithm", default="", choices=["", *SigningKey.Algorithm])

    def handle(self, *args, identifier: str, scopes, claims, lifetime, algorithm, **options):
        if ResourceServer.objects.filter(identifier=identifier).exists():
            raise CommandError(f"A resource server {identifier!r} already exists.")
        if lifetime is not None and lifetime <= 0:
            raise CommandError("--lifetime must be a positive number of seconds.")
        try:
            server = resource_server_create(
                identifier=identifier,
                scopes=scopes,
                claims=[c.strip() for c in claims.split(",") if c.strip()],
                lifetime=lifetime,
                algorithm=algorithm,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"identifier": server.identifier}))
