"""The admin index's activity charts: audit-trail counts drawn as server-side SVG.

No chart library and no script: the page must work under a strict Content-Security-Policy, and
a few polylines are all the chart needs. Colours live in static/css/admin-activity.css.
"""

from django import template

from accounts import selectors

register = template.Library()

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 28


def _chart(title: str, rows: list[dict], label_format: str, tick_every: int) -> dict:
    peak = max([1, *(row[key] for row in rows for key, *_ in selectors.ACTIVITY_SERIES)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(rows) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + i * step, 1)

    def y(v: int) -> float:
        return round(TOP + plot_h - v / peak * plot_h, 1)

    series = []
    for key, label, *_ in selectors.ACTIVITY_SERIES:
        points = [
            {"x": x(i), "y": y(row[key]), "value": row[key], "start": row["start"]}
            for i, row in enumerate(rows)
        ]
        series.append(
            {
                "key": key,
                "label": label,
                "total": sum(row[key] for row in rows),
                "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
                "points": points,
            }
        )
    last = len(rows) - 1
    ticks = [
        {
            "x": x(i),
            "label": row["start"].strftime(label_format),
            # The end labels hang inwards so the chart's edges do not clip them.
            "anchor": "start" if i == 0 else "end" if i == last else "middle",
        }
        for i, row in enumerate(rows)
        if (i % tick_every == 0 and last - i >= tick_every // 2) or i == last
    ]
    return {
        "title": title,
        "rows": rows,
        "series": series,
        "ticks": ticks,
        "peak": peak,
        "peak_y": y(peak),
        "axis_y": TOP + plot_h,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "width": WIDTH,
        "height": HEIGHT,
        "label_y": HEIGHT - 8,
        "label_format": label_format,
    }


@register.inclusion_tag("admin/accounts/activity.html", takes_context=True)
def activity_charts(context) -> dict:
    """Sign-ins, failures, refreshes and reuse detections: 24 hours by hour, 30 days by day."""
    user = context["request"].user
    if not user.has_perm("accounts.view_auditevent"):
        return {"charts": []}
    return {
        "charts": [
            _chart(
                "Last 24 hours, per hour (UTC)",
                selectors.audit_activity(unit="hour", buckets=24),
                "%H:00",
                4,
            ),
            _chart(
                "Last 30 days, per day (UTC)",
                selectors.audit_activity(unit="day", buckets=30),
                "%b %d",
                5,
            ),
        ]
    }
