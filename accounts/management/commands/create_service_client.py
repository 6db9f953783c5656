"""manage.py create_service_client NAME --scope S: register a service, print its credentials."""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.events import push
from accounts.flows import clients
from accounts.models import ServiceClient


class Command(BaseCommand):
    help = 'Create a service client; prints {"client_id", "client_secret"} as JSON, once.'

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", action="append", default=[], dest="scopes")
        parser.add_argument(
            "--audience",
            action="append",
            default=[],
            dest="audiences",
            help="A resource server it may ask tokens for (repeatable).",
        )
        parser.add_argument(
            "--exchange",
            action="append",
            default=[],
            help="A resource server it may exchange its users' tokens for (repeatable).",
        )
        parser.add_argument("--lifetime", type=int, help="Its access tokens' lifetime, seconds.")
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument("--jwks-url", default="", help="Where its assertion keys are published.")
        keys.add_argument("--public-key", type=Path, help="PEM file of its assertion key.")
        parser.add_argument(
            "--push-url",
            default="",
            help="a revocation-feed receiver (--scope ssf:poll) that also wants events pushed "
            "(RFC 8935): https, or http to a loopback address",
        )

    def handle(self, *args, name: str, scopes: list[str], push_url: str, **options) -> None:
        if ServiceClient.objects.filter(name=name).exists():
            raise CommandError(f"A service client named {name!r} already exists.")
        pem = options["public_key"].read_text() if options["public_key"] else ""
        if push_url:
            try:
                push.push_url_check(push_url)
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from exc
        try:
            with transaction.atomic():
                client, secret = clients.service_client_create(
                    name=name,
                    scopes=scopes,
                    audiences=options["audiences"],
                    exchange=options["exchange"],
                    lifetime=options["lifetime"],
                    public_key_pem=pem,
                    jwks_url=options["jwks_url"],
                )
                if push_url:
                    push.receiver_set_push_url(client=client, push_url=push_url)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"client_id": client.client_id, "client_secret": secret}))
