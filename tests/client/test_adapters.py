"""The WSGI middleware and the DRF authentication class put the verified caller on requests."""

import io
import json

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from warden_client import Identity
from warden_client.drf import WardenAuthentication, require_roles, require_scopes
from warden_client.wsgi import (
    GatewayHeadersMiddleware,
    WardenMiddleware,
    identity_of,
)
from warden_client.wsgi import (
    require_roles as wsgi_require_roles,
)
from warden_client.wsgi import (
    require_scopes as wsgi_require_scopes,
)


def whoami(environ, start_response):
    identity = identity_of(environ)
    body = json.dumps({"sub": identity.sub if identity else None}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def call(app, headers: dict | None = None) -> tuple[int, dict, dict]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "wsgi.input": io.BytesIO(),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()},
    }
    seen = {}

    def start_response(status, response_headers):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], json.loads(body)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_token(admin_user, login) -> str:
    return login("root@example.com")["access_token"]


@pytest.fixture
def ann_token(user, login) -> str:
    return login()["access_token"]


# --- WSGI -----------------------------------------------------------------------------------


def test_wsgi_middleware_puts_the_verified_user_on_the_environ(verifier, user, ann_token):
    status, _, body = call(WardenMiddleware(whoami, verifier), bearer(ann_token))
    assert status == 200 and body["sub"] == str(user.public_id)


def test_wsgi_middleware_answers_401_with_a_challenge_for_a_bad_token(verifier, db):
    status, headers, body = call(WardenMiddleware(whoami, verifier), bearer("not.a.token"))
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert body["error"] == "invalid_token"


def test_wsgi_middleware_without_token_passes_anonymous_unless_required(verifier, db):
    assert call(WardenMiddleware(whoami, verifier))[2] == {"sub": None}
    status, headers, _ = call(WardenMiddleware(whoami, verifier, required=True))
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"


def test_wsgi_role_guard_forbids_a_user_without_the_role(verifier, ann_token, admin_token):
    app = WardenMiddleware(wsgi_require_roles("admin")(whoami), verifier)
    status, _, body = call(app, bearer(ann_token))
    assert status == 403 and body["error_description"] == "requires role admin"
    assert call(app, bearer(admin_token))[0] == 200
    assert call(app)[0] == 401


def test_wsgi_scope_guard_admits_a_service_with_the_scope(verifier, service_tokens, ann_token):
    app = WardenMiddleware(wsgi_require_scopes("inventory:read")(whoami), verifier)
    assert call(app, bearer(service_tokens.token()))[0] == 200
    assert call(app, bearer(ann_token))[0] == 403
    write = WardenMiddleware(wsgi_require_scopes("inventory:write")(whoami), verifier)
    assert call(write, bearer(service_tokens.token()))[0] == 403


def test_gateway_headers_middleware_reads_what_the_gateway_forwarded():
    app = GatewayHeadersMiddleware(wsgi_require_roles("admin")(whoami))
    headers = {"X-User-Id": "u-1", "X-User-Email": "a@example.com", "X-User-Roles": "user,admin"}
    assert call(app, headers)[2] == {"sub": "u-1"}
    assert call(app, {**headers, "X-User-Roles": "user"})[0] == 403
    assert call(app)[0] == 401


# --- DRF ------------------------------------------------------------------------------------


def _view(verifier, *permissions):
    class Authentication(WardenAuthentication):
        pass

    Authentication.verifier = verifier

    class Orders(APIView):
        authentication_classes = (Authentication,)
        permission_classes = permissions

        def get(self, request):
            return Response({"sub": request.user.sub, "type": request.auth.subject_type})

    return Orders.as_view()


def _get(view, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return view(APIRequestFactory().get("/orders/", **headers))


def test_drf_authentication_makes_the_identity_the_request_user(verifier, user, ann_token):
    from rest_framework.permissions import IsAuthenticated

    response = _get(_view(verifier, IsAuthenticated), ann_token)
    assert response.status_code == 200
    assert response.data == {"sub": str(user.public_id), "type": "user"}
    assert _get(_view(verifier, IsAuthenticated)).status_code == 401


def test_drf_bad_token_is_401_with_challenge(verifier, db):
    response = _get(_view(verifier), "forged.token.value")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_drf_require_roles_and_scopes(verifier, ann_token, admin_token, service_tokens):
    admin_only = _view(verifier, require_roles("admin"))
    assert _get(admin_only, ann_token).status_code == 403
    assert _get(admin_only, admin_token).status_code == 200
    readers = _view(verifier, require_scopes("inventory:read"))
    assert _get(readers, service_tokens.token()).status_code == 200
    assert _get(readers, ann_token).status_code == 403


def test_identity_reads_roles_and_scopes_from_claims():
    identity = Identity.from_claims(
        {"sub": "c", "client_id": "c", "scope": "a b", "roles": [], "exp": 5}
    )
    assert identity.is_service and identity.scopes == {"a", "b"} and identity.exp == 5


def test_drf_authentication_builds_its_verifier_from_settings(warden, settings, user, login):
    from warden_client import drf

    settings.WARDEN_CLIENT = {
        "ISSUER": settings.WARDEN_ISSUER,
        "AUDIENCE": settings.WARDEN_AUDIENCE,
        "BASE_URL": warden,
    }
    drf._default = None
    try:

        class Profile(APIView):
            authentication_classes = (WardenAuthentication,)
            permission_classes = (require_roles("user"),)

            def get(self, request):
                return Response({"email": request.user.email})

        response = _get(Profile.as_view(), login()["access_token"])
    finally:
        drf._default = None
    assert response.status_code == 200 and response.data == {"email": "ann@example.com"}
