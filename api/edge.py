"""The verify edge: a verify answer given before is given again, before Django, while it holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.urls import resolve, reverse

from accounts import metrics
from accounts.tokens import check

# Set in the WSGI environ by the verify view on a 200: (token, expected audience).
VERIFIED = "warden.verified"
# Everything of a GET/HEAD verify that the answer depends on, besides the token's own state:
# the token and audience, the host checks and scheme (ALLOWED_HOSTS, the proxy headers Django
# may trust), and the Origin CORS answers to. Any other difference takes the full path.
SHAPE = (
    "REQUEST_METHOD",
    "HTTP_AUTHORIZATION",
    "QUERY_STRING",
    "HTTP_X_WARDEN_AUDIENCE",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_ORIGIN",
    "SCRIPT_NAME",
    "wsgi.url_scheme",
)
GET_HEAD = ("GET", "HEAD")
Answer = tuple[str, list[tuple[str, str]], bytes, str, "str | None"]


class VerifyEdge:
    """WSGI wrapper around Django: a gateway's repeat verify of a token answered in ~10 us.

    A gateway verifies the same token on every request of a session, and once the token is
    remembered (accounts/tokens/check.py) what is left of a verify is Django's request and
    response machinery, ~100 us. So the first 200 for a request shape is kept as Django sent
    it (status, headers, body) and sent again for the same shape while
    `check.remembered_and_live` holds: the token unexpired, its key live, its session, client
    and jti not revoked, the same checks as the full path. Anything else (a first sight, a
    refusal, POST, another header) goes to Django, which also times and counts as the edge
    does here. Written by hand: no WSGI library replays an answer under a revocation check.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.path: str | None = None
        self.route = ""
        self.answers: dict[tuple, Answer] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.path is None:
            self.path = reverse("api:verify")
            self.route = resolve(self.path).view_name
        if environ.get("PATH_INFO") != self.path or environ["REQUEST_METHOD"] not in (
            "GET",
            "HEAD",
        ):
            return self.app(environ, start_response)
        started = time.perf_counter()
        shape = tuple(environ.get(name) for name in SHAPE)
        answer = self.answers.get(shape)
        if answer is None:
            return self._through_django(shape, environ, start_response)
        status, headers, body, raw, audience = answer
        try:
            live = check.remembered_and_live(raw, audience)
        except Exception:  # a backend away: the full path answers (503), as it would
            live = False
        if not live:
            with self.lock:
                self.answers.pop(shape, None)
            return self._through_django(shape, environ, start_response)
        metrics.verify_outcome(None)
        start_response(status, headers)
        metrics.LATENCY.labels(self.route, environ["REQUEST_METHOD"]).observe(
            time.perf_counter() - started
        )
        return [body]

    def _through_django(self, shape: tuple, environ: dict, start_response: Callable):
        sent: list = []

        def remember_start(status, headers, exc_info=None):
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        response = self.app(environ, remember_start)
        verified = environ.get(VERIFIED)
        if verified is None or not sent or not sent[0].startswith("200 "):
            return response
        try:
            body = b"".join(response)
        finally:
            getattr(response, "close", lambda: None)()  # request_finished, as the server would
        self._remember(shape, (sent[0], list(sent[1]), body, *verified))
        return [body]

    def _remember(self, shape: tuple, answer: Answer) -> None:
        size = settings.WARDEN_VERIFY_CACHE_SIZE
        if size <= 0:
            return
        with self.lock:
            while len(self.answers) >= size:
                del self.answers[next(iter(self.answers))]  # the oldest
            self.answers[shape] = answer
