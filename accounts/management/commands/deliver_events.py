"""manage.py deliver_events: push pending revocation events to receivers, in a loop."""

import time

from django.core.management.base import BaseCommand

from accounts.events import push


class Command(BaseCommand):
    help = "Push revocation events (RFC 8935) to receivers with a push URL; retries with backoff."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between rounds")
        parser.add_argument(
            "--max-seconds", type=float, default=0, help="stop after this long (0: never)"
        )

    def handle(self, *args, once: bool, interval: float, max_seconds: float, **options) -> None:
        started = time.monotonic()
        while True:
            sent = push.push_pending()
            if sent:
                self.stdout.write(f"delivered {sent}")
            if once or (max_seconds and time.monotonic() - started >= max_seconds):
                return
            time.sleep(interval)
