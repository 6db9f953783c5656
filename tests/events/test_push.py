"""RFC 8935 push by `manage.py deliver_events`: in order, retried with backoff, caught up."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.events import push
from accounts.flows.sessions import session_revoke
from accounts.models import AuthSession, EventDelivery
from tests.e2e import harness
from tests.events.conftest import decode_set


class Receiver:
    """A push endpoint on loopback: answers `status`, keeps what it accepted."""

    def __init__(self) -> None:
        self.status = 202
        self.received: list[tuple[str, str]] = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        if self.status == 202:
            self.received.append((environ.get("CONTENT_TYPE", ""), body))
        start_response(f"{self.status} X", [("Content-Type", "application/json")])
        return [b"{}" if self.status != 400 else b'{"err": "invalid_audience"}']


@pytest.fixture
def endpoint():
    app = Receiver()
    service = harness.ThreadedService(app, harness.free_port())
    app.url = f"{service.url}/events"
    yield app
    service.stop()


@pytest.fixture
def pushed_receiver(receiver, endpoint):
    client, _ = receiver
    push.receiver_set_push_url(client=client, push_url=endpoint.url)
    return client


def _revoke(login, count: int) -> list[str]:
    for _ in range(count):
        login()
    sessions = list(AuthSession.objects.order_by("created_at"))
    for session in sessions:
        session_revoke(session=session, reason="admin")
    return [str(s.pk) for s in sessions]


def test_events_are_pushed_as_secevent_jwt_in_order(user, login, pushed_receiver, endpoint):
    sids = _revoke(login, 3)
    assert push.push_pending() == 3
    assert {kind for kind, _ in endpoint.received} == {"application/secevent+jwt"}
    audience = pushed_receiver.client_id
    got = [decode_set(body, audience=audience)["sub_id"]["id"] for _, body in endpoint.received]
    assert got == sids
    assert push.push_pending() == 0
    assert not EventDelivery.objects.filter(delivered_at=None).exists()


def test_a_receiver_that_was_down_catches_up_in_order(user, login, pushed_receiver, endpoint):
    endpoint.status = 503
    sids = _revoke(login, 2)
    for _ in range(3):
        EventDelivery.objects.update(next_attempt_at=timezone.now())  # as if time passed
        assert push.push_pending() == 0
    head, second = EventDelivery.objects.order_by("id")
    assert (head.attempts, second.attempts) == (3, 0)  # the head waits, the rest behind it
    assert head.next_attempt_at > timezone.now() + timedelta(seconds=3)
    assert push.push_pending() == 0  # backing off: not tried again yet
    sids += _revoke(login, 1)[2:]
    endpoint.status = 202
    EventDelivery.objects.update(next_attempt_at=timezone.now())
    call_command("deliver_events", "--once")
    audience = pushed_receiver.client_id
    got = [decode_set(body, audience=audience)["sub_id"]["id"] for _, body in endpoint.received]
    assert got == sids


def test_backoff_doubles_and_is_bounded(settings):
    settings.WARDEN_SSF_PUSH_MAX_BACKOFF = 60
    assert [push.backoff(n).total_seconds() for n in (1, 2, 3, 7, 40)] == [1, 2, 4, 60, 60]


def test_a_set_the_receiver_refuses_is_not_retried(user, login, pushed_receiver, endpoint):
    endpoint.status = 400
    _revoke(login, 1)
    assert push.push_pending() == 1
    assert EventDelivery.objects.get().last_error.startswith("400")


def test_an_unreachable_receiver_counts_a_failed_attempt(user, login, receiver):
    client, _ = receiver
    push.receiver_set_push_url(client=client, push_url=f"http://127.0.0.1:{harness.free_port()}/")
    _revoke(login, 1)
    assert push.push_pending() == 0
    delivery = EventDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.last_error == "ConnectionError"
