"""The SDK's verifier is bound to one audience: locally and when it asks Warden online."""

import pytest
from django.conf import settings

from accounts.flows.audiences import resource_server_create
from tests.api.test_token_endpoint import form
from tests.conftest import PASSWORD
from warden_client import TokenVerifier
from warden_client.errors import InvalidToken, TokenRevoked

pytestmark = pytest.mark.django_db(transaction=True)


def orders_token(api, user) -> str:
    data = {
        "grant_type": "password",
        "username": user.email,
        "password": PASSWORD,
        "resource": "orders",
    }
    return form(api, "/api/auth/token", data).json()["access_token"]


def test_a_verifier_for_one_audience_refuses_tokens_for_another(warden, wire, api, user):
    resource_server_create(identifier="orders", scopes=["orders:read"])
    token = orders_token(api, user)
    for_orders = TokenVerifier(
        issuer=settings.WARDEN_ISSUER, audience="orders", base_url=warden, session=wire
    )
    assert for_orders.verify(token, online=True).sub == str(user.public_id)
    for_inventory = TokenVerifier(
        issuer=settings.WARDEN_ISSUER, audience="inventory", base_url=warden, session=wire
    )
    with pytest.raises(InvalidToken):
        for_inventory.verify(token)
    with pytest.raises(ValueError):
        TokenVerifier(issuer=settings.WARDEN_ISSUER, audience="", base_url=warden)


def test_the_online_check_names_the_verifiers_audience(warden, wire, api, user):
    resource_server_create(identifier="orders", scopes=["orders:read"])
    token = orders_token(api, user)
    # A verifier that (wrongly) trusts every audience locally still hears Warden's answer for
    # its own: Warden checks the audience the verifier names, not the one the token carries.
    lenient = TokenVerifier(
        issuer=settings.WARDEN_ISSUER, audience="orders", base_url=warden, session=wire
    )
    lenient.audience = "inventory"
    lenient._check_claims = lambda claims: None
    with pytest.raises(TokenRevoked):
        lenient.verify(token, online=True)
