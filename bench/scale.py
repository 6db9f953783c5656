"""BENCH_SCALE=1: add 100,000 users and 1,000,000 sessions to Warden's bench database.

Generated inside PostgreSQL (INSERT ... SELECT over generate_series: no rows cross the wire),
with their email addresses and role memberships, then ANALYZE, so the planner sees the real
sizes. The sessions look like a year of sign-ins: 94% active with an expiry up to 30 days
ahead, 3% expired in the last 30 days, 3% revoked in the last 30 days (a few hundred of them
within one access-token lifetime, so the in-process revoked set holds them). The rows the
bench's requests use (its 200 users, their sessions and tokens) are left as they were.
Prints one JSON object. Run with the Warden environment bench/run.py builds.
"""

import json
import time

import django

USERS = 100_000
SESSIONS = 1_000_000
PATTERN = "scale%@bench.example"


def seed() -> dict:
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from accounts.models import User

    digest = User.objects.order_by("pk").values_list("password", flat=True).first()
    role = Group.objects.get(name="user")
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, public_id, email, first_name,
                last_name, is_active, is_staff, date_joined)
            SELECT %s, false, gen_random_uuid(), 'scale' || n || '@bench.example', '', '',
                true, false, now() - (n %% 365) * interval '1 day'
            FROM generate_series(1, %s) AS n
            """,
            [digest, USERS],
        )
        cursor.execute(
            """
            INSERT INTO account_emailaddress (user_id, email, verified, "primary")
            SELECT id, email, true, true FROM accounts_user WHERE email LIKE %s
            """,
            [PATTERN],
        )
        cursor.execute(
            """
            INSERT INTO accounts_user_groups (user_id, group_id)
            SELECT id, %s FROM accounts_user WHERE email LIKE %s
            """,
            [role.pk, PATTERN],
        )
        cursor.execute("SELECT min(id), max(id) FROM accounts_user WHERE email LIKE %s", [PATTERN])
        low, high = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO accounts_authsession (id, user_id, method, audience, scope, state,
                created_at, last_used_at, expires_at, ip, user_agent, refresh_digest,
                previous_refresh_digest, generation, rotated_at, revoked_at, revoke_reason)
            SELECT gen_random_uuid(), %(low)s + (n::bigint * 7919) %% (%(high)s - %(low)s + 1),
                'password', '', '',
                CASE WHEN n %% 100 < 3 THEN 'revoked' ELSE 'active' END,
                now() - interval '31 days', now() - (n %% 720) * interval '1 hour',
                CASE WHEN n %% 100 BETWEEN 3 AND 5
                    THEN now() - (n %% 43200) * interval '1 minute'
                    ELSE now() + (1 + n %% 43200) * interval '1 minute' END,
                '127.0.0.1', 'bench-scale', md5(n::text) || md5((n + 1)::text), '',
                n %% 50, NULL,
                CASE WHEN n %% 100 < 3 THEN now() - (n %% 43200) * interval '1 minute' END,
                CASE WHEN n %% 100 < 3 THEN 'logout' ELSE '' END
            FROM generate_series(1, %(sessions)s) AS n
            """,
            {"low": low, "high": high, "sessions": SESSIONS},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM accounts_authsession")
        sessions = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM accounts_user")
        users = cursor.fetchone()[0]
    return {
        "users": users,
        "sessions": sessions,
        "insert_seconds": round(time.monotonic() - started, 1),
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps(seed()))
