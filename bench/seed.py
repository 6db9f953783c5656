"""Seed a bench database and write the request material wrk replays (run by bench/run.py).

Usage: python bench/seed.py warden|reference WORK_DIR REFRESH_POOL
Users share one password hash (computed once with the real hasher), so seeding is fast while
each login still pays the full Argon2 cost.
"""

import json
import logging
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import django

USERS = 200
ACCESS_POOL = 64
ROUND_TRIP_POOL = 100  # refresh tokens for bench/roundtrips.py, apart from wrk's pool
REVOCATIONS = 50  # sessions bench/run.py logs out one at a time (revocation-to-refusal)
PASSWORD = "bench-password-7f3a9c"


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def seed_warden(work: Path, refresh_pool: int) -> dict:
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.db import transaction
    from django.utils import timezone

    from accounts import tokens
    from accounts.audit import Caller
    from accounts.flows.clients import service_client_create
    from accounts.flows.sessions import session_start
    from accounts.models import AuthSession, User

    cache.clear()
    logging.getLogger("warden.audit").setLevel(logging.WARNING)  # seeding is not news
    tokens.signing_key_ensure()
    digest = make_password(PASSWORD)
    role, _ = Group.objects.get_or_create(name="user")
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(email=f"user{i}@bench.example", password=digest) for i in range(USERS)]
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
        )
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=u.pk, group_id=role.pk) for u in users]
        )
    client, secret = service_client_create(name="bench", scopes=["bench:read"])
    caller = Caller(ip="127.0.0.1", user_agent="bench-seed")
    access = [
        session_start(user=users[i % USERS], method="password", caller=caller)["access_token"]
        for i in range(ACCESS_POOL)
    ]
    # Sessions with both tokens, for the revocation-to-refusal row (logged out one by one).
    revocable = [
        session_start(user=users[i % USERS], method="password", caller=caller)
        for i in range(REVOCATIONS)
    ]
    # Refresh tokens: one session each, made directly (session_start would also audit).
    now = timezone.now()
    sids = [uuid.uuid4() for _ in range(refresh_pool + ROUND_TRIP_POOL)]
    refresh = [tokens.opaque.refresh_token_new(sid) for sid in sids]
    sessions = [
        AuthSession(
            id=sid,
            user=users[i % USERS],
            method="password",
            expires_at=now + timedelta(days=1),
            ip="127.0.0.1",
            refresh_digest=tokens.opaque.digest(token),
        )
        for i, (sid, token) in enumerate(zip(sids, refresh, strict=True))
    ]
    with transaction.atomic():
        AuthSession.objects.bulk_create(sessions, batch_size=1000)
    write_lines(work / "warden-access.txt", access)
    write_lines(work / "warden-refresh.txt", refresh[:refresh_pool])
    write_lines(work / "warden-refresh-roundtrips.txt", refresh[refresh_pool:])
    (work / "warden-revocable.json").write_text(
        json.dumps(
            [{"access": t["access_token"], "refresh": t["refresh_token"]} for t in revocable]
        )
    )
    write_lines(work / "warden-emails.txt", [u.email for u in users])
    return {"client_id": client.client_id, "client_secret": secret, "password": PASSWORD}


def seed_reference(work: Path, refresh_pool: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.db import transaction
    from rest_framework_simplejwt.tokens import RefreshToken

    digest = make_password(PASSWORD)
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"user{i}", password=digest) for i in range(USERS)]
        )
        access = [
            str(RefreshToken.for_user(users[i % USERS]).access_token) for i in range(ACCESS_POOL)
        ]
        refresh = [str(RefreshToken.for_user(users[i % USERS])) for i in range(refresh_pool)]
    write_lines(work / "reference-access.txt", access)
    write_lines(work / "reference-refresh.txt", refresh)
    write_lines(work / "reference-usernames.txt", [u.username for u in users])
    return {"password": PASSWORD}


if __name__ == "__main__":
    project, work_dir, pool = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    django.setup()
    seeded = (seed_warden if project == "warden" else seed_reference)(work_dir, pool)
    (work_dir / f"{project}-seed.json").write_text(json.dumps(seeded))
