"""Throwaway PostgreSQL clusters of the tests' own, on loopback, for the failures that a
shared server cannot be put through: a primary killed and its standby promoted, a server
restarted under load, a server with three connection slots.

Each cluster lives under /var/tmp/backtest-store-pg/clusters (reachable by the postgres
user when the tests run as root; the server refuses to run as root) with the binaries of
the tests' server's major version, and is removed when the block ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

from devkit.dbs import pg_bin

ROOT = Path("/var/tmp/backtest-store-pg/clusters")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.getuid() == 0 else list(cmd)


def _run(*cmd: str) -> None:
    subprocess.run(
        _as_owner(*cmd), check=True, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def can_run() -> str | None:
    """Why clusters cannot be made here, or None."""
    if os.getuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    try:
        pg_bin("initdb")
        pg_bin("pg_basebackup")
    except RuntimeError as exc:
        return str(exc)
    return None


class Cluster:
    """One server: its data directory and port."""

    def __init__(self, datadir: Path, port: int) -> None:
        self.datadir = datadir
        self.port = port

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    @classmethod
    def create(cls, **settings: str) -> Cluster:
        datadir = _new_directory()
        _run(pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C")  # fmt: skip
        cluster = cls(datadir, free_port())
        cluster.configure(**settings)
        cluster.start()
        return cluster

    def configure(self, **settings: str) -> None:
        base = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": "''",
            "fsync": "off",  # a process killed keeps the OS's page cache: durable enough
            "shared_buffers": "32MB",
        }
        lines = [f"{k} = {v}" for k, v in {**base, **settings}.items()]
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/clusters.py\n" + "\n".join(lines) + "\n")

    def pg_ctl(self, *args: str) -> None:
        _run(pg_bin("pg_ctl"), "-D", str(self.datadir), "-l", str(self.datadir / "server.log"),
             "-w", "-t", "60", *args)  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def stop_immediately(self) -> None:
        """``pg_ctl stop -m immediate``: no checkpoint, the clients cut off (with ``start``,
        ``pg_ctl restart -m immediate`` in two steps, so a test knows when it stopped)."""
        self.pg_ctl("-m", "immediate", "stop")

    def promote(self) -> None:
        self.pg_ctl("promote")

    def kill(self) -> None:
        """SIGKILL the postmaster and every process it started, as a crash would."""
        pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
        children = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]  # fmt: skip
        for victim in (pid, *children):
            with suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in (pid, *children)):
            time.sleep(0.02)

    def standby(self, **settings: str) -> Cluster:
        """A streaming standby of this server (``pg_basebackup -R``), started."""
        datadir = _new_directory()
        _run(pg_bin("pg_basebackup"), "-D", str(datadir), "-h", "127.0.0.1", "-p",
             str(self.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        standby = Cluster(datadir, free_port())
        standby.configure(**settings)
        standby.start()
        return standby

    def stop(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.pg_ctl("-m", "immediate", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _new_directory() -> Path:
    path = ROOT / uuid.uuid4().hex[:12]
    path.mkdir(parents=True, mode=0o700)
    for p in (ROOT.parent, ROOT):
        p.chmod(0o755)
    if os.getuid() == 0:
        shutil.chown(path, "postgres")
    return path


@contextmanager
def cluster(**settings: str) -> Iterator[Cluster]:
    made = Cluster.create(**settings)
    try:
        yield made
    finally:
        made.remove()


def wait_until_accepting(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
