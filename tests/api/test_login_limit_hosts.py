"""The failed-login budget belongs to the account, whatever Host header the attempts carry."""

from django.conf import settings

from tests.conftest import PASSWORD


def test_varying_the_host_header_does_not_reset_the_failed_login_budget(api, user):
    limit = settings.WARDEN_LOGIN_ATTEMPTS_LIMIT
    for n in range(limit):
        response = api.post(
            "/api/auth/login",
            {"email": "ann@example.com", "password": "wrong-password-1"},
            format="json",
            HTTP_HOST=f"127.0.0.1:{8000 + n}",
        )
        assert response.status_code == 400
    response = api.post(
        "/api/auth/login",
        {"email": "ANN@example.com", "password": PASSWORD},
        format="json",
        HTTP_HOST="localhost:9999",
    )
    assert response.status_code == 429
