"""Accounts: email as login name, public ids, default role, deactivation."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts.models import User
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_duplicate_email_in_other_case_is_refused_with_clear_error():
    User.objects.create_user(email="ann@example.com", password=PASSWORD)
    with pytest.raises(ValidationError) as excinfo:
        User.objects.create_user(email="ANN@Example.COM", password=PASSWORD)
    assert "already exists" in str(excinfo.value)
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_email_is_stored_lowercase_and_signs_in_in_any_case(client):
    user = User.objects.create_user(email="Bob@Example.com", password=PASSWORD)
    assert user.email == "bob@example.com"
    assert User.objects.get_by_natural_key("BOB@example.COM") == user


@pytest.mark.django_db
def test_new_user_gets_user_role_and_a_uuid_public_id():
    user = User.objects.create_user(email="c@example.com", password=PASSWORD)
    assert user.role_names == ["user"]
    assert len(str(user.public_id)) == 36 and str(user.public_id) != str(user.pk)


@pytest.mark.django_db
def test_admin_and_user_roles_exist_after_migrations():
    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "user"}


@pytest.mark.django_db
def test_createsuperuser_noinput_reads_email_and_password_from_env(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput")
    admin = User.objects.get(email="root@example.com")
    assert admin.is_superuser and admin.is_staff and admin.check_password(PASSWORD)


def test_passwords_are_hashed_with_argon2id_at_owasp_minimum_or_above():
    from django.conf import settings
    from django.utils.module_loading import import_string

    from config.settings import base

    hasher = import_string(base.PASSWORD_HASHERS[0])()
    encoded = hasher.encode(PASSWORD, hasher.salt())
    assert encoded.startswith("argon2$argon2id$")
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
    assert hasher.verify(PASSWORD, encoded)
    assert settings.AUTH_PASSWORD_VALIDATORS, "Django's password validators are on"


def _verify_email(user: User) -> None:
    # What following the verification link does: mandatory verification gates API sign-in.
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


@pytest.mark.django_db
def test_superuser_can_use_the_admin_api_after_signing_in(login, api):
    root = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    _verify_email(root)
    access = login("root@example.com")["access_token"]
    response = api.get("/api/admin/users", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert response.status_code == 200, response.content
    assert "root@example.com" in response.content.decode()


@pytest.mark.django_db
def test_createsuperuser_noinput_gives_the_admin_role(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", email="first@example.com", verbosity=0)
    assert User.objects.get(email="first@example.com").role_names == ["admin", "user"]
