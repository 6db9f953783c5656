"""WSGI entry point (gunicorn config.wsgi): production settings unless told otherwise."""

import os

from django.core.wsgi import get_wsgi_application

# Started without its environment, a server refuses (production needs real secrets) rather
# than serving on the development SECRET_KEY.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()

from api.edge import VerifyEdge  # noqa: E402  (needs the apps Django has just loaded)

application = VerifyEdge(application)
