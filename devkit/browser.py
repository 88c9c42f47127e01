"""Headless Chromium for the report's tests: Debian's package, installed when missing (as
scripts/localpg.sh installs PostgreSQL), run with the network cut off."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # no network at all: every host resolves to nothing, and any proxy is a dead port
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("chromium is missing: apt-get install chromium (as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "chromium"], check=True, capture_output=True, env=env
    )
    found = shutil.which("chromium")
    assert found is not None
    return found


@dataclass
class Rendered:
    dom: str
    screenshot: Path
    seconds: float  # load, run the scripts, lay out and paint: the dump-dom run


def render(page: Path, out_dir: Path, width: int = 1280, height: int = 1600) -> Rendered:
    """Open ``page`` headless, offline; its DOM after the scripts ran, and a screenshot."""
    binary = chromium()
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        common = [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        started = time.monotonic()
        dom = subprocess.run(
            [*common, "--virtual-time-budget=15000", "--dump-dom", url],
            capture_output=True, text=True, check=True, timeout=180,
        ).stdout  # fmt: skip
        seconds = time.monotonic() - started
        shot = out_dir / f"{page.stem}.png"
        subprocess.run(
            [*common, "--virtual-time-budget=15000", f"--screenshot={shot}", url],
            capture_output=True, check=True, timeout=180,
        )  # fmt: skip
    return Rendered(dom, shot, seconds)
