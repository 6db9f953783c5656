"""schemathesis over the OpenAPI schema: every endpoint, no 5xx, every answer as documented."""

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.audit import Caller
from accounts.flows.sessions import session_start
from config.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Like Django's test client: requests must not close the test's database connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(make_user, db):
    # Minted directly: Django's test client would re-connect the signal handlers above.
    admin = make_user("root@example.com")
    admin.groups.add(Group.objects.get(name="admin"))
    return session_start(user=admin, method="password", caller=Caller())["access_token"]


def served(environ, start_response):
    """The app as gunicorn serves it: a real server always tells the peer's address."""
    environ.setdefault("REMOTE_ADDR", "127.0.0.1")
    return application(environ, start_response)


# Loaded from the running app (the schema view needs no database), so this is the schema
# clients actually get.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", served)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.django_db
def test_every_endpoint_answers_as_documented(case, bearer):
    if case.path.startswith(("/api/auth/me", "/api/auth/sessions", "/api/admin/")):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {bearer}"}
    case.call_and_validate(checks=CHECKS)
