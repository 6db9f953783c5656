"""A local stand-in for Google's OAuth 2.0 / OpenID Connect endpoints, for development and tests.

It speaks what allauth's Google provider calls, at Google's own paths under one base URL:

    GET  /o/oauth2/v2/auth       consent page: pick an email, Allow or Deny (keeps `state`)
    POST /token                  authorization code -> access token + RS256 ID token (PKCE S256)
    GET  /oauth2/v2/userinfo     the user behind an access token
    GET  /oauth2/v1/certs        signing keys as PEM certificates (what allauth fetches)
    GET  /oauth2/v3/certs        the same keys as a JWKS

Run it next to `make run` (see README, "Sign in with Google"):

    python -m tests.google_standin --port 8001

or start it in-process from a test: `GoogleStandin(port=0, ...).start()`; `.base_url` is where it
listens and `.id_token(...)` signs tokens with its key, as a phone's Google SDK would get them.
It needs only the standard library, PyJWT and cryptography. It is a test double: it trusts the
person at the keyboard to be whoever they type in, so never point a production Warden at it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

DEFAULT_CLIENT_ID = "warden-dev.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "warden-dev-secret"
CODE_LIFETIME = 300
TOKEN_LIFETIME = 3600


def google_sub(email: str) -> str:
    """A stable, Google-like numeric subject per email, so a person keeps one identity."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return str(int(digest[:16], 16)).rjust(21, "1")


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SigningKey:
    """An RSA key with a self-signed certificate, published like Google publishes its keys."""

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(20)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "google-standin")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.private_key, hashes.SHA256())
        )

    def pem_certificate(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def jwk(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


class GoogleStandin:
    """The server and its state: registered client, signing key, codes and tokens issued."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        issuer: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = SigningKey()
        self._issuer = issuer
        self._lock = threading.Lock()
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        # Switches tests flip to see Warden cope with a broken Google.
        self.fail_token_endpoint = False
        self.token_requests: list[dict] = []
        self.server = ThreadingHTTPServer((host, port), _handler_for(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def issuer(self) -> str:
        return self._issuer or self.base_url

    def start(self) -> GoogleStandin:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="google-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.codes.clear()
            self.access_tokens.clear()
            self.token_requests.clear()
            self.fail_token_endpoint = False

    def user(self, *, email: str, verified: bool = True, name: str = "") -> dict:
        email = email.strip()
        name = name.strip() or email.split("@")[0].replace(".", " ").title()
        given, _, family = name.partition(" ")
        return {
            "sub": google_sub(email),
            "email": email,
            "email_verified": verified,
            "name": name,
            "given_name": given,
            "family_name": family,
        }

    def id_token(
        self,
        *,
        email: str = "ann@example.com",
        verified: bool = True,
        name: str = "",
        audience: str | None = None,
        issuer: str | None = None,
        lifetime: int = TOKEN_LIFETIME,
        nonce: str | None = None,
        key: SigningKey | None = None,
        **claims,
    ) -> str:
        """An ID token as Google signs them; every argument can be bent to make a bad one."""
        now = int(time.time())
        body = {
            **self.user(email=email, verified=verified, name=name),
            "iss": issuer or self.issuer,
            "aud": audience or self.client_id,
            "azp": audience or self.client_id,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(16),
            **claims,
        }
        if nonce:
            body["nonce"] = nonce
        return (key or self.key).sign(body)

    # --- The OAuth steps, called by the request handler -----------------------------------

    def grant_code(self, *, params: dict, user: dict) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {
                "client_id": params.get("client_id", ""),
                "redirect_uri": params.get("redirect_uri", ""),
                "code_challenge": params.get("code_challenge", ""),
                "code_challenge_method": params.get("code_challenge_method", ""),
                "nonce": params.get("nonce", ""),
                "scope": params.get("scope", ""),
                "user": user,
                "expires": time.time() + CODE_LIFETIME,
            }
        return code

    def exchange_code(self, form: dict, basic: tuple[str, str] | None) -> tuple[int, dict]:
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        self.token_requests.append({"client_id": client_id, "pkce": "code_verifier" in form})
        if self.fail_token_endpoint:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal_failure"}
        if form.get("grant_type") != "authorization_code":
            return HTTPStatus.BAD_REQUEST, {"error": "unsupported_grant_type"}
        if client_id != self.client_id or not secrets.compare_digest(
            client_secret or "", self.client_secret
        ):
            return HTTPStatus.UNAUTHORIZED, {"error": "invalid_client"}
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)  # single use
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_grant", "error_description": "code"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return HTTPStatus.BAD_REQUEST, {"error": "redirect_uri_mismatch"}
        if grant["code_challenge"]:
            verifier = form.get("code_verifier", "")
            if grant["code_challenge_method"] != "S256" or not secrets.compare_digest(
                pkce_challenge(verifier), grant["code_challenge"]
            ):
                return HTTPStatus.BAD_REQUEST, {
                    "error": "invalid_grant",
                    "error_description": "PKCE verification failed",
                }
        user = grant["user"]
        access = secrets.token_urlsafe(32)
        with self._lock:
            self.access_tokens[access] = user
        id_token = self.id_token(
            email=user["email"],
            verified=user["email_verified"],
            name=user["name"],
            nonce=grant["nonce"] or None,
        )
        return HTTPStatus.OK, {
            "access_token": access,
            "expires_in": TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": grant["scope"],
            "id_token": id_token,
        }

    def userinfo(self, access_token: str) -> dict | None:
        user = self.access_tokens.get(access_token)
        if user is None:
            return None
        return {
            "id": user["sub"],
            "email": user["email"],
            "verified_email": user["email_verified"],
            "name": user["name"],
            "given_name": user["given_name"],
            "family_name": user["family_name"],
        }


CONSENT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google stand-in</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; background: #f1f3f4; margin: 0; }}
main {{ max-width: 28rem; margin: 3rem auto; background: #fff; padding: 2rem;
        border-radius: 8px; border: 1px solid #dadce0; }}
label {{ display: block; margin: .75rem 0 .25rem; font-weight: 600; }}
input[type=email], input[type=text] {{ width: 100%; padding: .5rem; box-sizing: border-box; }}
.buttons {{ display: flex; gap: 1rem; margin-top: 1.5rem; }}
button {{ padding: .6rem 1.4rem; font: inherit; border-radius: 4px; cursor: pointer; }}
.allow {{ background: #1a73e8; color: #fff; border: 0; }}
.deny {{ background: #fff; color: #1a73e8; border: 1px solid #dadce0; }}
.note {{ color: #5f6368; font-size: .9rem; }}
</style></head>
<body><main>
<h1>Google stand-in</h1>
<p><strong>{client}</strong> wants to sign you in and see your email address and name.</p>
<p class="note">Local test double: type any identity. Scope: {scope}</p>
<form method="post" action="/o/oauth2/v2/auth">
{hidden}
<label for="email">Email</label>
<input id="email" name="email" type="email" required value="{email}">
<label for="name">Name</label>
<input id="name" name="name" type="text" value="{name}">
<label><input type="checkbox" name="email_verified" value="true" checked>
 Google has verified this email address</label>
<div class="buttons">
<button class="allow" type="submit" name="decision" value="allow">Allow</button>
<button class="deny" type="submit" name="decision" value="deny">Deny</button>
</div>
</form>
</main></body></html>
"""

AUTH_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


def _handler_for(standin: GoogleStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "GoogleStandin/1"

        def log_message(self, format, *args):  # quiet unless run from the command line
            if getattr(standin, "verbose", False):
                super().log_message(format, *args)

        # --- plumbing ---
        def _query(self) -> dict:
            return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

        def _form(self) -> dict:
            length = min(int(self.headers.get("Content-Length") or 0), 65536)
            body = self.rfile.read(length).decode("utf-8", "replace")
            return {k: v[0] for k, v in parse_qs(body).items()}

        def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict, headers=None) -> None:
            self._send(status, json.dumps(data).encode(), "application/json", headers)

        def _redirect(self, location: str) -> None:
            self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})

        # --- routes ---
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/o/oauth2/v2/auth":
                self._consent_page(self._query())
            elif path == "/oauth2/v2/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                info = standin.userinfo(token)
                if info is None:
                    self._json(HTTPStatus.UNAUTHORIZED, {"error": "invalid_token"})
                else:
                    self._json(HTTPStatus.OK, info)
            elif path == "/oauth2/v1/certs":
                self._json(
                    HTTPStatus.OK,
                    {standin.key.kid: standin.key.pem_certificate()},
                    {"Cache-Control": "public, max-age=3600"},
                )
            elif path == "/oauth2/v3/certs":
                self._json(HTTPStatus.OK, {"keys": [standin.key.jwk()]})
            elif path == "/.well-known/openid-configuration":
                base = standin.base_url
                self._json(
                    HTTPStatus.OK,
                    {
                        "issuer": standin.issuer,
                        "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
                        "token_endpoint": f"{base}/token",
                        "userinfo_endpoint": f"{base}/oauth2/v2/userinfo",
                        "jwks_uri": f"{base}/oauth2/v3/certs",
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                    },
                )
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not_found"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = self._form()
            if path == "/o/oauth2/v2/auth":
                self._decide(form)
            elif path == "/token":
                status, data = standin.exchange_code(form, self._basic_auth())
                self._json(status, data)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not_found"})

        def _basic_auth(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
            except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
                return ("", "")
            client_id, _, secret = decoded.partition(":")
            return client_id, secret

        def _auth_request_error(self, params: dict) -> str | None:
            if params.get("client_id") != standin.client_id:
                return "Unknown client_id (error 401: invalid_client)."
            if params.get("response_type") != "code":
                return "Only response_type=code is supported."
            if not params.get("redirect_uri", "").startswith(("http://", "https://")):
                return "A redirect_uri is required."
            method = params.get("code_challenge_method")
            if params.get("code_challenge") and method != "S256":
                return "Only the S256 code challenge method is supported."
            return None

        def _consent_page(self, params: dict) -> None:
            error = self._auth_request_error(params)
            if error:
                body = f"<h1>Error 400</h1><p>{html.escape(error)}</p>".encode()
                self._send(HTTPStatus.BAD_REQUEST, body, "text/html; charset=utf-8")
                return
            hidden = "\n".join(
                f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
                for name in AUTH_PARAMS
                if name in params
            )
            email = params.get("login_hint", "")
            page = CONSENT_PAGE.format(
                client=html.escape(params["client_id"]),
                scope=html.escape(params.get("scope", "")),
                hidden=hidden,
                email=html.escape(email),
                name="",
            )
            self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

        def _decide(self, form: dict) -> None:
            params = {name: form[name] for name in AUTH_PARAMS if name in form}
            error = self._auth_request_error(params)
            if error:
                self._send(HTTPStatus.BAD_REQUEST, error.encode(), "text/plain")
                return
            reply = {"state": params["state"]} if "state" in params else {}
            if form.get("decision") != "allow":
                reply = {"error": "access_denied", **reply}
                self._redirect(_with_query(params["redirect_uri"], reply))
                return
            user = standin.user(
                email=form.get("email", ""),
                verified=form.get("email_verified") == "true",
                name=form.get("name", ""),
            )
            code = standin.grant_code(params=params, user=user)
            self._redirect(_with_query(params["redirect_uri"], {"code": code, **reply}))

    return Handler


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--client-id", default=os.environ.get("GOOGLE_CLIENT_ID") or None)
    parser.add_argument("--client-secret", default=os.environ.get("GOOGLE_CLIENT_SECRET") or None)
    args = parser.parse_args()
    standin = GoogleStandin(
        host=args.host,
        port=args.port,
        client_id=args.client_id or DEFAULT_CLIENT_ID,
        client_secret=args.client_secret or DEFAULT_CLIENT_SECRET,
    )
    standin.verbose = True
    print(f"Google stand-in on {standin.base_url}. Start Warden with:\n")
    print(f"  GOOGLE_OAUTH_BASE_URL={standin.base_url} \\")
    print(f"  GOOGLE_CLIENT_ID={standin.client_id} \\")
    print(f"  GOOGLE_CLIENT_SECRET={standin.client_secret} make run\n")
    try:
        standin.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.server.server_close()


if __name__ == "__main__":
    main()
