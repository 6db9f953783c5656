"""Registering apps: the management command and the admin."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ServiceClient
from oidc.models import OidcClient


def create(*args) -> dict:
    out = StringIO()
    call_command("create_oidc_client", *args, stdout=out)
    return json.loads(out.getvalue())


def test_command_registers_a_confidential_app(db):
    printed = create(
        "Wiki",
        "--redirect-uri",
        "https://wiki.example.com/cb",
        "--redirect-uri",
        "https://wiki.example.com/cb2",
        "--post-logout-redirect-uri",
        "https://wiki.example.com/",
        "--backchannel-logout-uri",
        "https://wiki.example.com/bcl",
    )
    assert printed["client_secret"]
    app = OidcClient.objects.get(client__client_id=printed["client_id"])
    assert app.redirect_uris == ["https://wiki.example.com/cb", "https://wiki.example.com/cb2"]
    assert app.backchannel_logout_uri == "https://wiki.example.com/bcl"
    assert not app.public and not app.first_party


def test_command_registers_a_public_first_party_cli(db):
    printed = create(
        "cli", "--redirect-uri", "http://127.0.0.1:9000/cb", "--public", "--first-party"
    )
    assert printed["client_secret"] is None
    app = OidcClient.objects.get(client__client_id=printed["client_id"])
    assert app.public and app.first_party


@pytest.mark.parametrize(
    "uri", ["http://wiki.example.com/cb", "https://wiki.example.com/cb#frag", "wiki/cb"]
)
def test_command_refuses_unsafe_redirect_uris(db, uri):
    with pytest.raises(CommandError):
        create("Wiki", "--redirect-uri", uri)
    assert not ServiceClient.objects.exists()


def test_admin_registers_an_app_and_shows_its_secret_once(admin_client):
    answer = admin_client.post(
        "/admin/oidc/oidcclient/add/",
        {
            "name": "Grafana",
            "redirect_uri_lines": "https://grafana.example.com/login/generic_oauth",
            "post_logout_lines": "",
            "scopes": ["openid", "email", "profile"],
            "grants": ["authorization_code", "refresh_token"],
            "backchannel_logout_uri": "",
            "logo_uri": "",
        },
    )
    assert answer.status_code == 200, answer.content
    assert b"shown once" in answer.content
    app = OidcClient.objects.get(client__name="Grafana")
    assert app.client.allowed_scopes == ["email", "openid", "profile"]
    assert admin_client.get(f"/admin/oidc/oidcclient/{app.pk}/change/").status_code == 200


def client_credentials(api, client_id: str, secret: str):
    return api.post(
        "/api/auth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        format="json",
    )


def test_client_credentials_is_refused_to_an_app_not_registered_for_it(api, web_app):
    client, secret = web_app
    answer = client_credentials(api, client.client_id, secret)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "unauthorized_client"
    assert "access_token" not in answer.json()


def test_client_credentials_works_for_an_app_registered_for_it(api, db):
    printed = create(
        "Reports",
        "--redirect-uri",
        "https://reports.example.com/cb",
        "--grant",
        "authorization_code",
        "--grant",
        "client_credentials",
    )
    answer = client_credentials(api, printed["client_id"], printed["client_secret"])
    assert answer.status_code == 200, answer.content
    assert answer.json()["access_token"] and "refresh_token" not in answer.json()


def test_a_public_app_cannot_be_registered_for_client_credentials(db):
    with pytest.raises(CommandError, match="no secret"):
        create(
            "cli",
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
            "--public",
            "--grant",
            "client_credentials",
        )
    assert not ServiceClient.objects.exists()
