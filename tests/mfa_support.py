"""Helpers for second-factor tests: enrol factors through allauth and compute real codes."""

import hashlib
import os
import time

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from allauth.mfa.utils import decrypt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth.models import Group
from fido2.cose import ES256
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticationExtensionsClientOutputs,
    AuthenticationResponse,
    AuthenticatorAssertionResponse,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)

from accounts.models import RolePolicy


def enrol_totp(user) -> str:
    """Give `user` an authenticator app and recovery codes, as the web flow does; the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def totp_code(secret: str, *, step: int = 0) -> str:
    """The code an authenticator app shows now (or `step` periods away), from the secret."""
    period = getattr(settings, "MFA_TOTP_PERIOD", 30)
    # Too close to the period's end, the server could already be in the next one: wait it out.
    remaining = period - time.time() % period
    if step == 0 and remaining < 1.5:
        time.sleep(remaining + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period + step))


def recovery_codes(user) -> list[str]:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return authenticator.wrap().get_unused_codes()


def stored_totp_secret(user) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def role_requiring_mfa(name: str = "operators") -> Group:
    role, _ = Group.objects.get_or_create(name=name)
    RolePolicy.objects.update_or_create(role=role, defaults={"require_mfa": True})
    return role


class SoftwareAuthenticator:
    """A WebAuthn authenticator in software: a P-256 key answering the browser's two calls.

    It builds the same bytes a security key and browser would (client data, authenticator data,
    "none" attestation, ECDSA assertion signature) with fido2's own types, so allauth's
    Fido2Server checks real signatures, challenges, origins and RP id hashes.
    """

    def __init__(self, origin: str = "https://testserver") -> None:
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _rp_id_hash(self, rp_id: str) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest()

    def create(self, creation_options: dict) -> dict:
        """navigator.credentials.create(): the RegistrationResponse JSON a page would post."""
        options = creation_options["publicKey"]
        client_data = CollectedClientData.create(
            type=CollectedClientData.TYPE.CREATE,
            challenge=options["challenge"],
            origin=self.origin,
        )
        credential = AttestedCredentialData.create(
            Aaguid.NONE,
            self.credential_id,
            ES256.from_cryptography_key(self.private_key.public_key()),
        )
        flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT
        auth_data = AuthenticatorData.create(
            self._rp_id_hash(options["rp"]["id"]), flags, self.counter, credential
        )
        response = RegistrationResponse(
            raw_id=self.credential_id,
            response=AuthenticatorAttestationResponse(
                client_data=client_data,
                attestation_object=AttestationObject.create("none", auth_data, {}),
            ),
            client_extension_results=AuthenticationExtensionsClientOutputs(
                {"credProps": {"rk": False}}
            ),
        )
        return dict(response)

    def get(self, request_options: dict, *, origin: str | None = None) -> dict:
        """navigator.credentials.get(): a signed AuthenticationResponse JSON."""
        options = request_options["publicKey"]
        self.counter += 1
        client_data = CollectedClientData.create(
            type=CollectedClientData.TYPE.GET,
            challenge=options["challenge"],
            origin=origin or self.origin,
        )
        auth_data = AuthenticatorData.create(
            self._rp_id_hash(options["rpId"]),
            AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV,
            self.counter,
        )
        signature = self.private_key.sign(
            bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256())
        )
        response = AuthenticationResponse(
            raw_id=self.credential_id,
            response=AuthenticatorAssertionResponse(
                client_data=client_data, authenticator_data=auth_data, signature=signature
            ),
        )
        return dict(response)
