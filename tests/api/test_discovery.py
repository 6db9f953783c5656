"""Discovery documents advertise what is served, and nothing that is not."""

import pytest

pytestmark = pytest.mark.django_db
ISSUER = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
)
def test_metadata_lists_only_served_endpoints_and_methods(client, path):
    meta = client.get(path).json()
    assert meta["issuer"] == ISSUER
    for name, value in meta.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            assert client.get(value.removeprefix(ISSUER)).status_code != 404, name
    assert meta["response_types_supported"] == ["code"], "no implicit flow is served"
    assert meta["code_challenge_methods_supported"] == ["S256"], "never plain"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert "registration_endpoint" not in meta, "dynamic registration is off by default"
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "urn:ietf:params:oauth:grant-type:device_code",
        "password",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
