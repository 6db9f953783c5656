"""manage.py create_service_client NAME --scope S: register a service, print its credentials."""

import json

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
            "--push-url",
            default="",
            help="a revocation-feed receiver (--scope ssf:poll) that also wants events pushed "
            "(RFC 8935): https, or http to a loopback address",
        )

    def handle(self, *args, name: str, scopes: list[str], push_url: str, **options) -> None:
        if ServiceClient.objects.filter(name=name).exists():
            raise CommandError(f"A service client named {name!r} already exists.")
        if push_url:
            try:
                push.push_url_check(push_url)
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from exc
        with transaction.atomic():
            client, secret = clients.service_client_create(name=name, scopes=scopes)
            if push_url:
                push.receiver_set_push_url(client=client, push_url=push_url)
        self.stdout.write(json.dumps({"client_id": client.client_id, "client_secret": secret}))
