"""Clean answers while PostgreSQL or Redis is away: 503 with Retry-After, never a 500.

An OperationalError/InterfaceError from the database, or a ConnectionError/TimeoutError from
Redis, raised anywhere in a request becomes `503 temporarily_unavailable` (OAuth's error
shape, RFC 6749 §4.1.2.1) for /api/ and /.well-known/, and a friendly page for the web pages.

Two hooks, because Django turns an exception into a response at every middleware boundary
(convert_exception_to_response), so no middleware can catch what a layer below it raises:
- BackendUnavailableMiddleware.process_exception: exceptions from views and their templates;
- server_error, the handler500 of config.urls: everything else, e.g. the verify fast path
  (served by api.middleware.VerifyFastPathMiddleware, not by a view) or a middleware reading
  the session. Django calls it inside its `except`, so sys.exc_info() is the exception.
  (With DEBUG on, Django shows its debug page instead of calling handler500.)
"""

from __future__ import annotations

import logging
import sys

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

from accounts.outages import backend_of

logger = logging.getLogger("warden.unavailable")

RETRY_AFTER_SECONDS = 5
JSON_PREFIXES = ("/api/", "/.well-known/", "/healthz", "/readyz", "/metrics")
DESCRIPTION = "The service is temporarily unavailable; try again in a few seconds."
FALLBACK_PAGE = (
    "<!DOCTYPE html><html lang=en><title>Temporarily unavailable</title>"
    "<h1>Temporarily unavailable</h1><p>Please try again in a few seconds.</p></html>"
)


def wants_json(request) -> bool:
    return request.path_info.startswith(JSON_PREFIXES)


def unavailable_response(request) -> HttpResponse:
    headers = {
        "Retry-After": str(RETRY_AFTER_SECONDS),
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    }
    if wants_json(request):
        body = {"error": "temporarily_unavailable", "error_description": DESCRIPTION}
        return JsonResponse(body, status=503, headers=headers)
    try:
        # No request: context processors would read the session and the user, i.e. the DB.
        page = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
    except Exception:  # a page about an outage must not fail in its turn
        logger.exception("503.html could not be rendered")
        page = FALLBACK_PAGE
    return HttpResponse(page, status=503, headers=headers)


def _logged_unavailable(request, backend: str, exc: BaseException) -> HttpResponse:
    # One line per refused request: the path only (never the query string) and the error's
    # first line, no traceback, no tokens or bodies. Django's own "Service Unavailable" line
    # (with a traceback on the handler500 path) would repeat it: the response says it's done.
    first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    logger.error(
        "%s unavailable: %s %s answered 503 (%s: %s)",
        backend,
        request.method,
        request.path,
        type(exc).__name__,
        first_line,
    )
    response = unavailable_response(request)
    response._has_been_logged = True  # django.utils.log.log_response skips it
    return response


class BackendUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        backend = backend_of(exception)
        if backend is None:
            return None
        return _logged_unavailable(request, backend, exception)


def server_error(request, *args, **kwargs) -> HttpResponse:
    """handler500: a backend outage is a 503 like above; any other error, Django's 500."""
    exc = sys.exc_info()[1]
    backend = backend_of(exc)
    if backend is None:
        return defaults.server_error(request, *args, **kwargs)
    return _logged_unavailable(request, backend, exc)
