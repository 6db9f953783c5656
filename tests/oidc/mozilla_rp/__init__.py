"""A relying party built on mozilla-django-oidc, for tests/oidc/test_library_rps.py: a Django
app of its own (settings, URLs, one page) run by `python -m django runserver` in a subprocess,
configured from the environment (RP_* variables) with its own SQLite file."""
