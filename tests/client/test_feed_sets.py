"""The feed trusts only SETs signed by a published key, typed secevent+jwt, from the issuer,
addressed to this receiver; what they say is applied to the local revocation set."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from warden_client import Identity, RevocationFeed, TokenRevoked

ISSUER = "https://auth.example.com"
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"


class _Verifier:
    issuer = ISSUER

    def _key(self, kid):
        return "ES256", KEY.public_key()


def _feed() -> RevocationFeed:
    feed = RevocationFeed(client_id="svc_feed", client_secret="s")
    feed._verifier = _Verifier()
    return feed


def _set(*, key=KEY, typ="secevent+jwt", aud="svc_feed", iss=ISSUER, event=SESSION_REVOKED):
    claims = {
        "iss": iss,
        "aud": aud,
        "iat": int(time.time()),
        "jti": "j1",
        "sub_id": {"format": "opaque", "id": "sid-1"},
        "events": {event: {}},
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k", "typ": typ})


def _identity(**claims) -> Identity:
    return Identity.from_claims({"sub": "u1", "exp": 0, "iat": int(time.time()) - 5, **claims})


def test_a_session_revoked_set_refuses_that_sessions_tokens_only():
    feed = _feed()
    feed._apply(feed._decode(_set()))
    with pytest.raises(TokenRevoked):
        feed.check(_identity(sid="sid-1"))
    feed.check(_identity(sid="sid-2"))


def test_an_account_disabled_set_refuses_that_subjects_earlier_tokens():
    feed = _feed()
    claims = feed._decode(_set(event=DISABLED))
    claims["sub_id"] = {"format": "opaque", "id": "u1"}
    feed._apply(claims)
    with pytest.raises(TokenRevoked):
        feed.check(_identity(sid="any"))
    feed.check(_identity(sub="u2", sid="any"))


def test_a_disabled_client_that_acted_in_an_exchanged_token_gets_it_refused():
    feed = _feed()
    claims = feed._decode(_set(event=DISABLED))
    claims["sub_id"] = {"format": "opaque", "id": "svc_gateway"}
    feed._apply(claims)
    chain = {"sub": "svc_orders", "act": {"sub": "svc_gateway"}}  # orders acted after gateway
    with pytest.raises(TokenRevoked):
        feed.check(_identity(sid="any", act=chain))
    feed.check(_identity(sid="any", act={"sub": "svc_orders"}))
    feed.check(_identity(sid="any"))


@pytest.mark.parametrize(
    "forged",
    [
        {"key": OTHER},
        {"typ": "JWT"},
        {"aud": "svc_someone_else"},
        {"iss": "https://evil.example.com"},
    ],
)
def test_sets_that_do_not_check_out_are_refused(forged):
    with pytest.raises((jwt.PyJWTError, ValueError)):
        _feed()._decode(_set(**forged))
