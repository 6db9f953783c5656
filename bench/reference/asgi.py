"""ASGI entry point for the reference project (uvicorn bench.reference.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.reference.settings")
application = get_asgi_application()
