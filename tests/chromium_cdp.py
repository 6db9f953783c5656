"""Drive Debian's headless chromium over the DevTools protocol on a pipe (stdlib only)."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(AssertionError):
    pass


class Chromium:
    """One headless browser with one page; every wait is bounded and the process always ends.

    `--remote-debugging-pipe` speaks CDP as NUL-terminated JSON on fds 3 (in) and 4 (out), so
    no port is opened and no websocket library is needed.
    """

    def __init__(self, *, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="warden-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        command = (
            f"exec {CHROMIUM} --headless --no-sandbox --disable-gpu --no-first-run "
            "--disable-extensions --disable-background-networking --disable-sync "
            f"--user-data-dir={self._profile} --remote-debugging-pipe about:blank "
            f"3<&{to_browser_r} 4>&{from_browser_w}"
        )
        self._process = subprocess.Popen(
            ["bash", "-c", command],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, False
        )
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")

    def close(self) -> None:
        try:
            os.close(self._to_browser)
            os.close(self._from_browser)
        except OSError:
            pass
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 65536)
                if not chunk:
                    raise BrowserError("chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def wait_for_path(self, path: str) -> str:
        """Wait until the page at `path` (a prefix) has loaded; return the full location."""
        deadline = time.monotonic() + self.timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                last = self.evaluate("document.readyState + ' ' + location.pathname")
            except BrowserError:
                last = ""  # the page is between documents
            state, _, current = (last or "").partition(" ")
            if state == "complete" and current.startswith(path):
                return current
            time.sleep(0.1)
        raise BrowserError(f"expected {path}, still at {last!r}")

    def submit_form(self, fields: dict[str, str], *, form: str = "form") -> None:
        """Fill inputs by name in the first `form` matching the selector and submit it."""
        assignments = "".join(
            f"f.querySelector({json.dumps(f'[name={name}]')}).value = {json.dumps(value)};"
            for name, value in fields.items()
        )
        self.evaluate(
            f"(() => {{ const f = document.querySelector({json.dumps(form)}); {assignments}"
            " f.requestSubmit ? f.requestSubmit() : f.submit(); })()"
        )

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
