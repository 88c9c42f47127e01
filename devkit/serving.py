"""The web view served for real (uvicorn in a thread, on a free loopback port) and driven
by Playwright on Debian's chromium, offline: every host but loopback resolves to nothing.
The browser tests and ``make screenshots`` use it alike."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devkit.browser import chromium

OFFLINE = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` on http://127.0.0.1:<port> for the block; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web view did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@dataclass
class Watched:
    """What a page did: console errors, uncaught errors, dialogs, hosts it asked."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)

    def charts_drawn(self) -> list[bool]:
        """For each chart of the page: drawn by plotly (an svg in it, marked by app.js)."""
        self.page.wait_for_load_state("networkidle")
        # polled from here: the page's CSP forbids the eval that wait_for_function polls with
        deadline = time.monotonic() + 20
        while not self.page.evaluate(
            "[...document.querySelectorAll('.chart')].every(e => e.dataset.drawn)"
        ):
            assert time.monotonic() < deadline, "the charts were not drawn within 20 s"
            self.page.wait_for_timeout(50)
        drawn: list[bool] = self.page.eval_on_selector_all(
            ".chart", "els => els.map(e => e.dataset.drawn === 'true' && !!e.querySelector('svg'))"
        )
        return drawn


@contextmanager
def browser(width: int = 1280, height: int = 900) -> Iterator[Watched]:
    """A Playwright page on Debian's chromium, watched."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=OFFLINE)
        try:
            page = launched.new_page(viewport={"width": width, "height": height})
            watched = Watched(page)

            def console(message: Any) -> None:
                if message.type == "error":
                    watched.errors.append(message.text)

            def uncaught(error: Any) -> None:
                watched.errors.append(f"uncaught: {error}")

            def dialog(opened: Any) -> None:
                watched.dialogs.append(opened.message)
                opened.dismiss()

            page.on("console", console)
            page.on("pageerror", uncaught)
            page.on("dialog", dialog)
            page.on("request", lambda r: watched.hosts.add(r.url.split("/")[2]))
            yield watched
        finally:
            launched.close()
