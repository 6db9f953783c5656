"""GET /metrics: Prometheus text format, for an allow-list of addresses or a bearer token."""

import hmac
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from accounts import metrics
from api.common import bearer_token


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allowed if cidr)


def _address_allowed(request) -> bool:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says. Behind a proxy, use
    # METRICS_TOKEN (or allow the proxy's address and guard /metrics there).
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


@require_GET
def metrics_view(request) -> HttpResponse:
    """404 to strangers (the endpoint is not advertised), 403 to a wrong token."""
    token = bearer_token(request)
    if token is not None and settings.METRICS_TOKEN:
        if not hmac.compare_digest(token.encode(), settings.METRICS_TOKEN.encode()):
            return HttpResponseForbidden("forbidden\n", content_type="text/plain")
    elif not _address_allowed(request):
        raise Http404
    response = HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
