"""NUL bytes and lone surrogates in the fields that reach PostgreSQL: a 4xx, never a 5xx.

PostgreSQL text cannot hold NUL (psycopg refuses the query) and a lone surrogate cannot be
encoded to UTF-8, so a value like that which reaches a query ends in a 500 unless the API
refuses it first. Run over HTTP against the Warden of tests/faults, on its private PostgreSQL.
"""

from __future__ import annotations

import base64
import contextlib
import json

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.faults

NUL = "\x00"
SURROGATE = "\ud800"  # json.dumps writes it as the escape "\ud800": valid JSON syntax
BAD = {"nul": NUL, "surrogate": SURROGATE}


def json_body(fields: dict) -> bytes:
    return json.dumps(fields).encode("ascii")  # ensure_ascii: escapes, never raw surrogates


def assert_documented_4xx(response) -> None:
    where = f"{response.status_code} {response.headers.get('Content-Type')} {response.text[:200]}"
    assert 400 <= response.status_code < 500, where
    assert response.headers.get("Content-Type") == "application/json", where
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], where
    assert isinstance(body.get("error_description"), str), where


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_login_email(stack, bad):
    response = stack.post(
        "/api/auth/login",
        data=json_body({"email": f"ann{bad}@example.com", "password": PASSWORD}),
        headers=JSON,
    )
    assert_documented_4xx(response)


def test_login_email_form_nul(stack):
    response = stack.post(
        "/api/auth/login", data={"email": f"ann{NUL}@example.com", "password": PASSWORD}
    )
    assert_documented_4xx(response)


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_token_password_grant_username(stack, bad):
    response = stack.post(
        "/api/auth/token",
        data=json_body(
            {"grant_type": "password", "username": f"ann{bad}@example.com", "password": PASSWORD}
        ),
        headers=JSON,
    )
    assert_documented_4xx(response)


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_token_grant_type(stack, bad):
    response = stack.post(
        "/api/auth/token",
        data=json_body({"grant_type": f"client_credentials{bad}"}),
        headers=JSON,
        auth=(stack.client_id, stack.client_secret),
    )
    assert_documented_4xx(response)


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_token_client_id_in_the_body(stack, bad):
    response = stack.post(
        "/api/auth/token",
        data=json_body(
            {
                "grant_type": "client_credentials",
                "client_id": stack.client_id + bad,
                "client_secret": stack.client_secret,
            }
        ),
        headers=JSON,
    )
    assert_documented_4xx(response)


def test_token_client_id_in_a_form_body_nul(stack):
    response = stack.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": stack.client_id + NUL,
            "client_secret": stack.client_secret,
        },
    )
    assert_documented_4xx(response)


# HTTP Basic carries bytes: a NUL raw or percent-encoded (RFC 6749 §2.3.1 form-encodes the
# id), and a surrogate as the bytes UTF-8 forbids (CESU-8 "\xed\xa0\x80") or percent-encoded.
BASIC_IDS = {
    "nul": lambda client_id: (client_id + NUL).encode(),
    "nul-percent": lambda client_id: (client_id + "%00").encode(),
    "surrogate-bytes": lambda client_id: client_id.encode() + b"\xed\xa0\x80",
    "surrogate-percent": lambda client_id: (client_id + "%ED%A0%80").encode(),
}


@pytest.mark.parametrize("make_id", BASIC_IDS.values(), ids=BASIC_IDS.keys())
def test_token_client_id_in_http_basic(stack, make_id):
    credentials = make_id(stack.client_id) + b":" + stack.client_secret.encode()
    response = stack.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    assert_documented_4xx(response)


# --- At volume: huge, deep, undecodable, and malformed at the HTTP layer ------------------------
#
# Two layers answer. What reaches Warden gets the documented JSON error. What gunicorn refuses
# while parsing HTTP (a header over limit_request_field_size, 8190 bytes; a NUL or a control
# character in a header) never reaches Django: gunicorn answers 400 in plain text, which no
# client can mistake for a success. Either way: 4xx, never 5xx, and the worker lives on.

MB = 1024 * 1024
JSON_ENDPOINTS = (
    "/api/auth/login",
    "/api/auth/login/mfa",
    "/api/auth/google",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/auth/token",
    "/api/auth/introspect",
    "/api/auth/revoke",
    "/api/auth/verify",
)
# Every field each endpoint reads (and one it does not).
FIELDS = {
    "/api/auth/login": ("email", "password", "username"),
    "/api/auth/login/mfa": ("mfa_token", "code"),
    "/api/auth/google": ("id_token",),
    "/api/auth/refresh": ("refresh_token",),
    "/api/auth/logout": ("refresh_token",),
    "/api/auth/token": ("grant_type", "username", "password", "refresh_token", "scope"),
    "/api/auth/introspect": ("token", "token_type_hint"),
    "/api/auth/revoke": ("token", "token_type_hint"),
    "/api/auth/verify": ("token", "unknown"),
}


def raw_request(stack, data: bytes, timeout: float = 30) -> tuple[int, dict, bytes]:
    """Send bytes as they are (no client library to refuse them); status, headers, body."""
    import socket

    port = int(stack.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # The server may answer and close before it has read everything (a body over the
        # limit): stop sending then, and read the answer it wrote.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    if headers.get("transfer-encoding") == "chunked":
        decoded, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            if int(size, 16) == 0:
                break
            decoded, rest = decoded + rest[: int(size, 16)], rest[int(size, 16) + 2 :]
        body = decoded
    return status, headers, body


def request_bytes(path: str, *, headers: dict[str, bytes], body: bytes = b"") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
    for name, value in headers.items():
        head += name.encode() + b": " + value + b"\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()
    return head + body


def assert_4xx_answer(stack, status: int, headers: dict, body: bytes, where: str) -> None:
    assert 400 <= status < 500, f"{where}: {status} {body[:200]!r}"
    if headers.get("content-type") == "application/json":
        shape = json.loads(body)
        assert isinstance(shape.get("error"), str) and shape["error"], where
        # verify answers {"active": false, "error"}; everything else RFC 6749's shape
        assert "error_description" in shape or shape.get("active") is False, where
    else:  # gunicorn's own answer to malformed HTTP (util.write_error): never reached Django
        assert status in (400, 431), where  # 431: a header over limit_request_field_size
        assert headers.get("content-type") == "text/html", where
        assert "server" not in headers, where  # what Django answers passes gunicorn's headers


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_ten_megabyte_bodies(stack, path):
    body = b'{"token": "' + b"a" * (10 * MB) + b'"}'
    for content_type in (b"application/json", b"application/x-www-form-urlencoded"):
        data = body if content_type == b"application/json" else b"token=" + b"a" * (10 * MB)
        status, headers, answer = raw_request(
            stack, request_bytes(path, headers={"Content-Type": content_type}, body=data)
        )
        assert_4xx_answer(stack, status, headers, answer, f"{path} {content_type!r} 10 MB")
        assert headers.get("content-type") == "application/json", (path, status, answer[:200])


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_deeply_nested_json(stack, path):
    depth = 100_000
    bodies = {
        "array": b"[" * depth + b"]" * depth,
        "in a field": b'{"%s": ' % FIELDS[path][0].encode() + b"[" * depth + b"]" * depth + b"}",
        "objects": b'{"a":' * depth + b"1" + b"}" * depth,
    }
    for name, body in bodies.items():
        response = stack.post(path, data=body, headers=JSON)
        where = f"{path} nested {name}"
        assert 400 <= response.status_code < 500, f"{where}: {response.status_code}"
        assert response.headers["Content-Type"] == "application/json", where


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_invalid_utf8(stack, path):
    field = FIELDS[path][0].encode()
    bodies = {
        "json": (b"application/json", b'{"' + field + b'": "\xff\xfe\xc3\x28"}'),
        "json key": (b"application/json", b'{"\xff": "x"}'),
        "form": (b"application/x-www-form-urlencoded", field + b"=\xff\xfe%FF%C3%28"),
        "charset": (b"application/json; charset=utf-7", b'{"' + field + b'": "+AGEAYgBj-"}'),
    }
    for name, (content_type, body) in bodies.items():
        status, headers, answer = raw_request(
            stack, request_bytes(path, headers={"Content-Type": content_type}, body=body)
        )
        if path in UNKNOWN_TOKEN_IS_SUCCESS and name in ("form", "charset"):
            # A form is decoded with U+FFFD for what is not UTF-8, a declared charset is
            # honoured: an unknown token either way, which logout and RFC 7009 revocation
            # answer as done (nothing revoked), as documented.
            assert (status, answer) == (UNKNOWN_TOKEN_IS_SUCCESS[path], b""), (path, status)
            continue
        assert_4xx_answer(stack, status, headers, answer, f"{path} {name}")


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_nul_and_surrogates_in_every_field(stack, path, bad):
    for field in FIELDS[path]:
        values = {name: "x" for name in FIELDS[path]}
        values[field] = f"a{bad}b"
        if path == "/api/auth/token":
            values.setdefault("grant_type", "password")
        response = stack.post(
            path, data=json_body(values), headers=JSON, auth=(stack.client_id, stack.client_secret)
        )
        where = f"{path} {field}"
        assert 400 <= response.status_code < 500, f"{where}: {response.status_code}"
        assert response.headers["Content-Type"] == "application/json", where


UNKNOWN_TOKEN_IS_SUCCESS = {"/api/auth/logout": 204, "/api/auth/revoke": 200}
HEADERS = ("Authorization", "X-Forwarded-For", "User-Agent", "Content-Type", "Cookie", "Origin")


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize(
    "value",
    [b"Bearer a\x00b", b"Bearer a\xed\xa0\x80b", b"\xff\xfe", b"Basic \x00\x00"],
    ids=["nul", "surrogate-bytes", "invalid-utf8", "basic-nul"],
)
def test_nul_and_surrogates_in_every_header(stack, header, value):
    for path in ("/api/auth/verify", "/api/auth/token", "/api/auth/login", "/api/auth/refresh"):
        status, headers, answer = raw_request(
            stack,
            request_bytes(
                path,
                headers={"Content-Type": b"application/json", header: value}
                if header != "Content-Type"
                else {header: value},
                body=b'{"refresh_token": "x", "email": "a@b.c", "password": "x"}',
            ),
        )
        assert_4xx_answer(stack, status, headers, answer, f"{path} {header}={value!r}")


def test_a_100_kb_authorization_header(stack):
    for path in ("/api/auth/verify", "/api/auth/token", "/api/auth/me"):
        for scheme in (b"Bearer ", b"Basic "):
            status, headers, answer = raw_request(
                stack, request_bytes(path, headers={"Authorization": scheme + b"A" * 100_000})
            )
            assert_4xx_answer(stack, status, headers, answer, f"{path} {scheme!r}100 KB")


@pytest.mark.parametrize("commas", [10_000, 8_000])
def test_x_forwarded_for_of_commas(stack, commas):
    """10,000 commas is past gunicorn's header limit; 8,000 reaches Warden, which must cope."""
    for path in ("/api/auth/login", "/api/auth/verify", "/api/auth/token"):
        status, headers, answer = raw_request(
            stack,
            request_bytes(
                path,
                headers={"Content-Type": b"application/json", "X-Forwarded-For": b"," * commas},
                body=b'{"email": "ann@example.com", "password": "wrong-password-1"}',
            ),
        )
        assert_4xx_answer(stack, status, headers, answer, f"{path} XFF {commas} commas")


def test_after_the_volley_warden_still_answers(stack):
    import re

    # The access log (deploy/gunicorn.conf.py's format: '... "METHOD /path" STATUS ...').
    assert not re.search(r'" 50[0-2] ', stack.warden.log()), "a 500 was answered"
    assert "Internal Server Error" not in stack.warden.log()
    assert stack.login("dave@example.com").status_code == 200
