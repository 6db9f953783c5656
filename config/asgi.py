"""ASGI entry point: production settings unless told otherwise."""

import os

from django.core.asgi import get_asgi_application

# Started without its environment, a server refuses (production needs real secrets) rather
# than serving on the development SECRET_KEY.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
