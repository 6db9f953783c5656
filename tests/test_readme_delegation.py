"""README "Audiences and delegation": its worked example, step by step, against Warden."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.api.test_token_endpoint import basic, form
from tests.conftest import PASSWORD
from tests.helpers import claims_of

pytestmark = pytest.mark.django_db
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def manage(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def verify(api, token: str, audience: str):
    return api.get(
        "/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_WARDEN_AUDIENCE=audience
    )


def test_the_readme_delegation_example(api, user):
    manage("create_resource_server", "orders", "--scope", "orders:read")
    manage("create_resource_server", "inventory", "--scope", "inventory:read")
    orders = manage(
        "create_service_client",
        "orders-svc",
        "--scope",
        "inventory:read",
        "--audience",
        "orders",
        "--exchange",
        "inventory",
    )
    pair = form(
        api,
        "/api/auth/token",
        {
            "grant_type": "password",
            "username": user.email,
            "password": PASSWORD,
            "resource": "orders",
        },
    ).json()
    users_token = pair["access_token"]
    assert verify(api, users_token, "orders").status_code == 200  # the gateway's route to orders

    exchanged = form(
        api,
        "/api/auth/token",
        {
            "grant_type": EXCHANGE,
            "subject_token": users_token,
            "subject_token_type": ACCESS,
            "resource": "inventory",
        },
        HTTP_AUTHORIZATION=basic(orders["client_id"], orders["client_secret"]),
    )
    assert exchanged.status_code == 200, exchanged.content
    inventory_token = exchanged.json()["access_token"]
    assert claims_of(inventory_token)["act"] == {"sub": orders["client_id"]}
    assert verify(api, inventory_token, "inventory").status_code == 200
    assert verify(api, users_token, "inventory").status_code == 401

    logout = api.post("/api/auth/logout", {"refresh_token": pair["refresh_token"]}, format="json")
    assert logout.status_code == 204
    for token, audience in ((users_token, "orders"), (inventory_token, "inventory")):
        refused = verify(api, token, audience)
        assert refused.status_code == 401 and refused.json()["error"] == "session revoked"
