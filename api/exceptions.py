"""Error rendering: OAuth's shape (RFC 6749 §5.2) for AuthError, DRF's JSON for the rest."""

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import metrics
from accounts.errors import AuthError


def auth_error_headers(exc: AuthError, request=None) -> dict[str, str]:
    """Headers of an AuthError answer; counts rate-limit refusals for the metrics."""
    if exc.status == 429:
        match = getattr(request, "resolver_match", None)
        metrics.rate_limited(match.view_name if match else "unknown")
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401 and exc.error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="warden"'
    return headers


def auth_error_response(exc: AuthError, context: dict | None = None) -> Response:
    headers = auth_error_headers(exc, (context or {}).get("request"))
    return Response(exc.body(), status=exc.status, headers=headers)


def auth_error_json(exc: AuthError, request) -> JsonResponse:
    """The same answer from a plain Django view (the verify hot path)."""
    return JsonResponse(exc.body(), status=exc.status, headers=auth_error_headers(exc, request))


def exception_handler(exc, context):
    if isinstance(exc, AuthError):
        return auth_error_response(exc, context)
    view = context.get("view")
    if getattr(view, "oauth_errors", False) and isinstance(exc, exceptions.ParseError):
        return auth_error_response(AuthError("invalid_request", "The request body is malformed."))
    if getattr(view, "oauth_errors", False) and isinstance(exc, exceptions.UnsupportedMediaType):
        return auth_error_response(
            AuthError("invalid_request", "The request body's Content-Type is not supported.")
        )
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        return auth_error_response(
            AuthError(
                "rate_limited", "Too many requests; try again later.", status=429, retry_after=wait
            ),
            context,
        )
    return drf_exception_handler(exc, context)
