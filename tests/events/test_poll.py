"""RFC 8936 poll, the receiver's stream configuration and the SSF transmitter metadata."""

import time

from django.conf import settings

from accounts.flows.sessions import session_revoke
from accounts.models import AuthSession, EventDelivery
from tests.events.conftest import basic_auth, decode_set


def _revoke_sessions(login, count: int) -> list[str]:
    for _ in range(count):
        login()
    sessions = list(AuthSession.objects.order_by("created_at"))
    for session in sessions:
        session_revoke(session=session, reason="admin")
    return [str(s.pk) for s in sessions]


def test_metadata_names_the_jwks_both_delivery_methods_and_the_configuration(api, db):
    meta = api.get("/.well-known/ssf-configuration").json()
    base = settings.WARDEN_ISSUER.rstrip("/")
    assert meta["issuer"] == settings.WARDEN_ISSUER
    assert meta["jwks_uri"] == base + "/.well-known/jwks.json"
    assert set(meta["delivery_methods_supported"]) == {"urn:ietf:rfc:8936", "urn:ietf:rfc:8935"}
    assert meta["configuration_endpoint"] == base + "/api/ssf/stream"


def test_the_stream_configuration_gives_the_poll_endpoint(feed, receiver):
    config = feed.get("/api/ssf/stream").json()
    assert config["aud"] == config["stream_id"] == receiver[0].client_id
    assert config["delivery"] == {
        "method": "urn:ietf:rfc:8936",
        "endpoint_url": settings.WARDEN_ISSUER.rstrip("/") + "/api/ssf/poll",
    }
    assert (
        "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
        in (config["events_delivered"])
    )


def test_events_come_oldest_first_until_acknowledged(user, login, receiver, poll):
    sids = _revoke_sessions(login, 3)
    first = poll(maxEvents=2)
    assert first["moreAvailable"] is True
    audience = receiver[0].client_id
    got = [decode_set(t, audience=audience)["sub_id"]["id"] for t in first["sets"].values()]
    assert got == sids[:2]
    again = poll(maxEvents=2)
    assert again["sets"].keys() == first["sets"].keys()  # not acknowledged: sent again
    rest = poll(ack=list(first["sets"]), maxEvents=2)
    assert rest["moreAvailable"] is False
    assert [decode_set(t, audience=audience)["sub_id"]["id"] for t in rest["sets"].values()] == [
        sids[2]
    ]
    assert poll(ack=list(rest["sets"]), maxEvents=0) == {"sets": {}, "moreAvailable": False}
    assert poll() == {"sets": {}, "moreAvailable": False}


def test_a_set_the_receiver_reports_an_error_for_is_not_sent_again(user, login, poll):
    _revoke_sessions(login, 1)
    [jti] = poll()["sets"]
    errors = {jti: {"err": "invalid_key", "description": "no such key"}}
    assert poll(setErrs=errors)["sets"] == {}
    assert EventDelivery.objects.get().last_error == "invalid_key: no such key"


def test_a_held_poll_waits_at_most_the_configured_time(feed, settings):
    settings.WARDEN_SSF_POLL_WAIT = 0.3
    started = time.monotonic()
    answer = feed.post("/api/ssf/poll", {"returnImmediately": False}, format="json")
    assert answer.json() == {"sets": {}, "moreAvailable": False}
    assert 0.3 <= time.monotonic() - started < 2


def test_only_a_receiver_may_poll(api, service_client, db):
    client, secret = service_client
    token = api.post(
        "/api/auth/token",
        {"grant_type": "client_credentials"},
        format="json",
        HTTP_AUTHORIZATION=basic_auth(client.client_id, secret),
    ).json()["access_token"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.post("/api/ssf/poll", {}, format="json").status_code == 403
    assert api.get("/api/ssf/stream").status_code == 403
    api.credentials()
    assert api.post("/api/ssf/poll", {}, format="json").status_code == 401


def test_a_bad_poll_body_is_a_400(feed):
    answer = feed.post("/api/ssf/poll", {"maxEvents": -1}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
