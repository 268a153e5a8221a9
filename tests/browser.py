"""A headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium started with ``--remote-debugging-pipe`` reads protocol commands from its file descriptor
3 and writes replies and events to descriptor 4, each message a JSON object followed by a NUL
byte. ``Browser`` opens a page at a phone's size with every network request recorded, and reports
what went wrong on it: console errors, uncaught exceptions, log errors (a blocked resource, a
Content-Security-Policy violation) and requests to anything but local files.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PHONE = {"width": 412, "height": 915, "deviceScaleFactor": 2, "mobile": True}
LOCAL_SCHEMES = ("file:", "data:", "about:")


def find_chromium() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class BrowserError(RuntimeError):
    pass


@dataclass
class PageReport:
    """What happened while a page loaded; ``problems`` is empty for a clean page."""

    url: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    # The value of each expression given to ``Browser.open``, evaluated once the page loaded.
    values: dict[str, Any] = field(default_factory=dict)


class Browser:
    """One Chromium process; ``open`` loads one page in a fresh tab and reports on it."""

    def __init__(self, binary: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="spinback-chromium-")
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        # Events read while waiting for a command's reply, in arrival order.
        self._pending: list[dict[str, Any]] = []
        self._next_id = 0

        # The browser reads commands on its fd 3 and answers on its fd 4, where bash puts its pipe
        # ends. They are first moved above 9 here, so that neither is already 3 or 4 (which is
        # why bash: dash only redirects one-digit descriptors).
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        to_browser_read, from_browser_write = (
            _above_nine(to_browser_read),
            _above_nine(from_browser_write),
        )
        flags = [
            "--headless=new",
            "--no-sandbox",  # tests run as root in containers
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            "about:blank",
        ]
        launcher = f'exec "$0" "$@" 3<&{to_browser_read} 4>&{from_browser_write}'
        self._process = subprocess.Popen(
            ["bash", "-c", launcher, binary, *flags],
            pass_fds=(to_browser_read, from_browser_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def open(
        self, url: str, expressions: tuple[str, ...] = (), settle_seconds: float = 0.3
    ) -> PageReport:
        """Load ``url`` at a phone's size; return the problems, requests, the values of the
        JavaScript ``expressions`` and a full-page PNG.

        The expressions run from the protocol, not from the page, so the page's own policy
        (which may forbid scripts) does not stop them.
        """
        report = PageReport(url)
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._call(f"{domain}.enable", session=session)
        self._call("Emulation.setDeviceMetricsOverride", PHONE, session=session)

        self._call("Page.navigate", {"url": url}, session=session)
        self._events_until(session, report, "Page.loadEventFired", self.timeout)
        self._events_until(session, report, None, settle_seconds)
        for expression in expressions:
            result = self._call(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
            )
            report.values[expression] = result.get("result", {}).get("value")

        size = self._call("Page.getLayoutMetrics", session=session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": PHONE["width"], "height": size["height"], "scale": 1}
        shot = self._call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
            session=session,
        )
        report.screenshot = base64.b64decode(shot["data"])
        self._events_until(session, report, None, 0.0)
        self._call("Target.closeTarget", {"targetId": target})
        return report

    def close(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(BrowserError):
                self._call("Browser.close", timeout=5.0)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        os.close(self._to_browser)
        shutil.rmtree(self._profile, ignore_errors=True)

    # The protocol.

    def _call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._receive(deadline, f"a reply to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._pending.append(reply)

    def _events_until(
        self, session: str, report: PageReport, method: str | None, seconds: float
    ) -> None:
        """Record the session's events until ``method`` arrives (or, without one, ``seconds``)."""
        deadline = time.monotonic() + seconds
        while True:
            if self._pending:
                event = self._pending.pop(0)
            elif method is None and time.monotonic() >= deadline:
                return
            else:
                try:
                    event = self._receive(deadline, method or "")
                except TimeoutError:
                    if method is None:
                        return
                    raise
            if event.get("sessionId") != session:
                continue
            _record(event, report)
            if method is not None and event.get("method") == method:
                return

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        try:
            message = self._messages.get(timeout=max(0.0, remaining))
        except queue.Empty:
            raise TimeoutError(f"Chromium sent no {waiting_for} in time") from None
        if message is None:
            raise BrowserError(f"Chromium closed the pipe while waiting for {waiting_for}")
        return message

    def _read(self) -> None:
        buffered = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            buffered += chunk
            *complete, buffered = buffered.split(b"\0")
            for text in complete:
                self._messages.put(json.loads(text))
        os.close(self._from_browser)
        self._messages.put(None)


def _above_nine(descriptor: int) -> int:
    """The same pipe end on a descriptor number of 10 or more; the original is closed."""
    moved = fcntl.fcntl(descriptor, fcntl.F_DUPFD, 10)
    os.close(descriptor)
    return moved


def _record(event: dict[str, Any], report: PageReport) -> None:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        texts = [str(arg.get("value", arg.get("description", ""))) for arg in params["args"]]
        report.problems.append(f"console.{params['type']}: {' '.join(texts)}")
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        description = details.get("exception", {}).get("description") or details.get("text")
        report.problems.append(f"uncaught exception: {description}")
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        report.problems.append(f"log error ({entry.get('source')}): {entry.get('text')}")
    elif method == "Network.requestWillBeSent":
        url = params.get("request", {}).get("url", "")
        report.requests.append(url)
        if not url.startswith(LOCAL_SCHEMES):
            report.problems.append(f"network request: {url}")
    elif method == "Network.loadingFailed":
        report.problems.append(f"failed request: {params.get('errorText')}")


def save_screenshot(report: PageReport, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.write_bytes(report.screenshot)
    return path
