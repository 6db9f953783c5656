"""Middleware: the verify fast path, and request latency for the metrics."""

import time

from django.urls import resolve, reverse

from accounts import metrics
from api.verify import verify


class VerifyFastPathMiddleware:
    """Serve /api/auth/verify before the session, CSRF, auth, messages and allauth layers.

    Gateways call verify on every request they pass; those layers do nothing for it (verify
    reads no session or cookie and sets none) yet cost ~100 us per call, a third of the path.
    Sits after SecurityMiddleware and CORS, so their headers still apply; the host check
    CommonMiddleware would make is made here. Every other path goes through the full stack.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.path = None
        self.match = None

    def __call__(self, request):
        if self.path is None:
            self.path = reverse("api:verify")
            self.match = resolve(self.path)
        if request.path_info == self.path:
            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check it
            request.resolver_match = self.match  # what URL routing would have set
            return verify(request)
        return self.get_response(request)


class MetricsMiddleware:
    """Times every request into a histogram labelled by URL route name, never the raw path
    (paths carry ids: one series per session id would swamp Prometheus)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.view_name if match is not None else "<unmatched>"
        metrics.LATENCY.labels(route, request.method).observe(time.perf_counter() - start)
        return response
