"""The admin index charts sign-ins, failures, refreshes and reuse detections from the audit."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def seed(at, type: str, outcome: str = "success", n: int = 1) -> None:
    for _ in range(n):
        AuditEvent.objects.create(created_at=at, type=type, outcome=outcome)


@pytest.fixture
def events():
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    seed(hour, "login", n=3)
    seed(hour - timedelta(hours=2) + timedelta(minutes=5), "login", "failure", n=2)
    seed(hour - timedelta(hours=5) + timedelta(minutes=59), "refresh", n=4)
    seed(hour - timedelta(days=3), "refresh_reuse_detected", "failure")
    seed(hour - timedelta(days=3), "login", n=2)
    seed(hour - timedelta(days=40), "login", n=7)  # outside both charts
    seed(hour, "logout", n=5)  # not charted
    return hour


def section(html: str, title: str) -> str:
    start = html.index(f"Activity: {title}")
    return html[start : html.index("</section>", start)]


def totals(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-total="(\w+)">(\d+)<', html)}


def test_hourly_and_daily_counts_match_the_audit_trail(events, django_assert_num_queries):
    with django_assert_num_queries(1):
        hourly = selectors.audit_activity(unit="hour", buckets=24)
    assert len(hourly) == 24 and hourly[-1]["start"] == events
    assert hourly[-1]["sign_ins"] == 3
    assert hourly[-3]["failures"] == 2
    assert hourly[-6]["refreshes"] == 4
    assert sum(row["reuse"] for row in hourly) == 0
    with django_assert_num_queries(1):
        daily = selectors.audit_activity(unit="day", buckets=30)
    assert len(daily) == 30
    assert sum(row["sign_ins"] for row in daily) == 5
    assert daily[-4]["reuse"] == 1 and daily[-4]["sign_ins"] == 2


def test_admin_index_shows_the_activity_charts(events, client):
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-pass-1")
    client.force_login(admin)
    html = client.get("/admin/").content.decode()
    day = section(html, "Last 24 hours")
    month = section(html, "Last 30 days")
    assert totals(day) == {"sign_ins": 3, "failures": 2, "refreshes": 4, "reuse": 0}
    assert totals(month) == {"sign_ins": 5, "failures": 2, "refreshes": 4, "reuse": 1}
    current = re.search(
        rf'<tr data-start="{re.escape(events.isoformat())}">.*?</tr>', day.replace("\n", "")
    ).group(0)
    assert re.findall(r"<td>(\d+)</td>", current) == ["3", "0", "0", "0"]
    assert "<svg" in day and "<polyline" in day
    # A Content-Security-Policy is coming: no inline script or style in the chart.
    assert "<script" not in day and "style=" not in day and "<style" not in day
    assert "css/admin-activity.css" in html


def test_staff_without_audit_permission_sees_no_chart(events, client):
    staff = User.objects.create_user(email="staff@example.com", password="x-long-pass-1")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Activity:" not in response.content.decode()
