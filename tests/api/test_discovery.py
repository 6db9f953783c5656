"""Discovery documents advertise what is served, and nothing that is not."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
)
def test_metadata_lists_only_served_endpoints_and_methods(client, path):
    meta = client.get(path).json()
    assert meta["issuer"] == "http://127.0.0.1:8000"
    for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint", "jwks_uri"):
        served = client.post if name != "jwks_uri" else client.get
        assert served(meta[name].removeprefix("http://127.0.0.1:8000")).status_code != 404
    assert "token" not in meta["response_types_supported"], "no implicit flow is served"
    assert "authorization_endpoint" not in meta
    assert "id_token_signing_alg_values_supported" not in meta, "no ID tokens yet"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert set(meta["grant_types_supported"]) == {
        "password",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
