"""Liveness and readiness probes for load balancers and orchestrators."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse


def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    """Ready when the database and the cache both answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable", "reason": "database unreachable"}, status=503)
    try:
        cache.set("readyz", "1", 5)
        if cache.get("readyz") != "1":
            raise RuntimeError("cache did not keep a value")
    except Exception:
        return JsonResponse({"status": "unavailable", "reason": "cache unreachable"}, status=503)
    return JsonResponse({"status": "ok"})
