"""The key-encryption key: HKDF-derived keys, rotation without downtime, nothing voided."""

import base64
import hashlib
import json
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.management import call_command

from accounts import tokens
from accounts.models import ServiceClient, SigningKey
from accounts.tokens import secrets
from accounts.tokens.keyring import _load_private
from tests.conftest import PASSWORD
from tests.mfa_support import enrol_totp, totp_code

pytestmark = pytest.mark.django_db
OLD = "old-key-encryption-key-0123456789abcdef"
NEW = "new-key-encryption-key-fedcba9876543210"


def test_purpose_keys_are_derived_with_hkdf_and_differ_per_purpose(settings):
    settings.WARDEN_KEY_ENCRYPTION_KEYS = [NEW]
    expected = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"warden-kek-v1", info=b"signing-keys"
    ).derive(NEW.encode())
    assert secrets.derived_key("signing-keys") == expected
    assert secrets.derived_key("mfa-secrets") != expected


def test_a_value_sealed_before_hkdf_still_opens(settings):
    settings.WARDEN_KEY_ENCRYPTION_KEYS = [OLD]
    legacy = hashlib.sha256(f"warden:signing-keys:{OLD}".encode()).digest()
    sealed = Fernet(base64.urlsafe_b64encode(legacy)).encrypt(b"pem").decode()
    assert secrets.unseal(sealed, purpose="signing-keys") == b"pem"


def test_changing_the_key_encryption_key_voids_no_client_secret(api, settings):
    from accounts.flows.clients import service_client_create

    settings.WARDEN_KEY_ENCRYPTION_KEYS = [OLD]
    client, secret = service_client_create(name="orders", scopes=["a"])
    settings.WARDEN_KEY_ENCRYPTION_KEYS = [NEW]
    response = api.post(
        "/api/auth/token",
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
        format="json",
    )
    assert response.status_code == 200


def test_an_old_keyed_client_secret_digest_still_works_and_is_upgraded(api, settings):
    import hmac

    settings.WARDEN_KEY_ENCRYPTION_KEYS = [OLD]
    legacy_key = hashlib.sha256(f"warden:client-secrets:{OLD}".encode()).digest()
    secret = "s" * 43
    client = ServiceClient.objects.create(
        name="legacy",
        client_id="svc_legacy",
        secret_hash=hmac.new(legacy_key, secret.encode(), hashlib.sha256).hexdigest(),
        allowed_scopes=["a"],
    )
    body = {"grant_type": "client_credentials", "client_id": "svc_legacy", "client_secret": secret}
    assert api.post("/api/auth/token", body, format="json").status_code == 200
    client.refresh_from_db()
    assert client.secret_hash.startswith("sha256$")
    assert api.post("/api/auth/token", body, format="json").status_code == 200


def test_rotating_the_key_encryption_key_reseals_keys_and_mfa_secrets(api, user, settings):
    settings.WARDEN_KEY_ENCRYPTION_KEYS = [OLD]
    key = tokens.signing_key_ensure()
    secret = enrol_totp(user)
    before = {a.pk: dict(a.data) for a in Authenticator.objects.filter(user=user)}

    settings.WARDEN_KEY_ENCRYPTION_KEYS = [NEW, OLD]  # both accepted while rotating
    out = StringIO()
    call_command("rotate_key_encryption_key", stdout=out)
    assert json.loads(out.getvalue()) == {"signing_keys": 1, "mfa_secrets": 2}
    after = {a.pk: dict(a.data) for a in Authenticator.objects.filter(user=user)}
    assert after != before

    settings.WARDEN_KEY_ENCRYPTION_KEYS = [NEW]  # the old key is gone
    tokens.keyring.invalidate()
    assert _load_private(SigningKey.objects.get(pk=key.pk)) is not None
    challenge = api.post(
        "/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json"
    ).json()
    done = api.post(
        "/api/auth/login/mfa",
        {"mfa_token": challenge["mfa_token"], "code": totp_code(secret)},
        format="json",
    )
    assert done.status_code == 200, done.content
