"""A sign-in that fails because a backend is away never counts against the account."""

from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

BACKEND = "allauth.account.auth_backends.AuthenticationBackend.authenticate"


def login(api: APIClient, password: str):
    return api.post(
        "/api/auth/login", {"email": "ann@example.com", "password": password}, format="json"
    )


@pytest.mark.django_db
def test_sign_ins_during_a_database_outage_leave_the_attempts_budget_whole(user):
    api = APIClient(raise_request_exception=False)
    limit = settings.WARDEN_LOGIN_ATTEMPTS_LIMIT
    with mock.patch(BACKEND, side_effect=OperationalError("connection refused")):
        for _ in range(limit + 2):
            assert login(api, PASSWORD).status_code == 503
    # Back: the right password works, and all `limit` wrong guesses are still allowed.
    assert login(api, PASSWORD).status_code == 200
    for _ in range(limit):
        assert login(api, "wrong-password-1").status_code == 400
    assert login(api, PASSWORD).status_code == 429
