"""The web view is read-only and safe: GET and HEAD only, read-only sessions (under the
read-only role too), the token, the security headers on every answer, a 503 that
recovers by itself when the database is back, the root path behind a proxy, and
``backtest-store serve`` itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytest.importorskip("starlette", reason="the web view's extra: pip install 'backtest-store[web]'")

from devkit.dbs import maintenance, url_for
from devkit.web import Seeded, seed
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from starlette.testclient import TestClient

from backtest_store import BacktestStore
from backtest_store.urls import conninfo
from backtest_store.web import create_app

TOKEN = "s3cret-token-for-the-tests"


@pytest.fixture
def seeded(db_url: str) -> Seeded:
    with BacktestStore.connect(db_url) as store:
        return seed(store, 8)


@pytest.fixture
def client(db_url: str, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(db_url), follow_redirects=False) as c:
        yield c


def paths(seeded: Seeded) -> list[str]:
    return ["/", f"/backtests/{seeded.rich}", f"/compare?ids={seeded.ids[0]},{seeded.ids[1]}",
            "/summary", "/portfolios", f"/portfolios/{seeded.portfolio}", "/api/", "/healthz",
            "/static/app.js", "/static/plotly.min.js", "/nowhere", "/?sort=nope"]  # fmt: skip


def test_only_get_and_head(client: TestClient, seeded: Seeded) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/", f"/backtests/{seeded.rich}", "/api/", "/login", "/healthz"):
            response = client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
    assert client.head(f"/backtests/{seeded.rich}").status_code == 200


def test_security_headers_on_every_answer(client: TestClient, seeded: Seeded) -> None:
    for path in paths(seeded):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp, path
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert client.post("/").headers["x-content-type-options"] == "nosniff"


def test_no_page_names_another_host(client: TestClient, seeded: Seeded) -> None:
    import re

    for path in paths(seeded)[:6]:
        html = client.get(path).text
        assert re.search(r'(src|href)="(https?:)?//', html) is None, path


def test_every_session_is_read_only(client: TestClient) -> None:
    async def write() -> str:
        pool = client.app.state.store._source  # type: ignore[attr-defined]
        async with pool.connection() as conn:
            setting = await (await conn.execute("SHOW default_transaction_read_only")).fetchone()
            try:
                await conn.execute("DELETE FROM mcp_backtest_results")
            except psycopg.errors.ReadOnlySqlTransaction:
                return f"{setting[0]}, refused"
            return "written"

    assert client.portal.call(write) == "on, refused"  # type: ignore[union-attr]


def test_the_url_s_own_options_are_kept_beside_read_only(db_url: str) -> None:
    """A URL that sets options (a search_path: the Citus tests' schemas; a timeout) keeps
    them: the read-only setting is added to them, not put in their place."""
    url = f"{db_url}?options=-c%20statement_timeout%3D4321%20-c%20search_path%3Dpublic"

    async def settings() -> tuple[Any, ...]:
        pool = c.app.state.store._source  # type: ignore[attr-defined]
        async with pool.connection() as conn:
            row = await (await conn.execute(
                "SELECT current_setting('statement_timeout'), current_setting('search_path'),"
                " current_setting('default_transaction_read_only')"
            )).fetchone()  # fmt: skip
            return tuple(row)

    with TestClient(create_app(url)) as c:
        assert c.get("/").status_code == 200
        assert c.portal.call(settings) == ("4321ms", "public", "on")  # type: ignore[union-attr]


def test_works_under_the_read_only_role(logins: dict[str, str], db_url: str) -> None:
    with BacktestStore.connect(db_url) as store:
        seeded = seed(store, 3)
    with TestClient(create_app(logins["readonly"])) as c:
        for path in ("/", f"/backtests/{seeded.rich}", "/summary", "/portfolios", "/healthz"):
            assert c.get(path).status_code == 200, path


def test_a_pool_that_is_not_read_only_is_refused(db_url: str) -> None:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(conninfo(db_url), open=False)
    with pytest.raises(ValueError, match="not read-only"), TestClient(create_app(pool)):
        pass
    ok: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo(db_url), open=False, kwargs={"options": "-c default_transaction_read_only=on"}
    )
    with TestClient(create_app(ok)) as c:
        assert c.get("/healthz").status_code == 200


def test_the_token(db_url: str, seeded: Seeded) -> None:
    with TestClient(create_app(db_url, token=TOKEN), follow_redirects=False) as c:
        assert c.get("/").status_code == 303 and c.get("/").headers["location"] == "/login"
        api = c.get("/api/")
        assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
        assert c.get("/api/", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get("/healthz").status_code == 200  # the proxy's check has no token
        assert c.get("/login").status_code == 200
        assert c.get("/login", params={"token": "nope"}).status_code == 401
        assert "backtest_store_token" not in c.cookies
        login = c.get("/login", params={"token": TOKEN})
        assert login.status_code == 303
        assert "httponly" in login.headers["set-cookie"].lower()
        assert "samesite=strict" in login.headers["set-cookie"].lower()
        assert c.get("/").status_code == 200  # the cookie
        assert c.get(f"/backtests/{seeded.rich}").status_code == 200


def test_behind_a_proxy_under_a_prefix(db_url: str, seeded: Seeded) -> None:
    with TestClient(create_app(db_url, token=TOKEN), root_path="/bt",
                    follow_redirects=False) as c:  # fmt: skip
        assert c.get("/bt/").headers["location"] == "/bt/login"
        c.get("/bt/login", params={"token": TOKEN})
        html = c.get("/bt/").text
        assert 'href="/bt/static/style.css"' in html and 'action="/bt/compare"' in html
        assert f'href="/bt/backtests/{seeded.ids[0]}"' in html
        assert c.get(f"/bt/backtests/{seeded.rich}").status_code == 200
        assert c.get("/bt/api/summary").status_code == 200


def test_503_then_recovers_by_itself(db_url: str, seeded: Seeded) -> None:
    """A database that is not there: 503 (no traceback); created, the view answers again
    without a restart. Connections the server kills are replaced, not reported."""
    name = f"bt_later_{os.getpid()}"
    later = url_for(name)
    with TestClient(create_app(later, pool_timeout=0.5)) as c:
        for path in ("/", "/healthz", "/api/summary"):
            down = c.get(path)
            assert down.status_code == 503, path
            assert down.headers["retry-after"] == "5" and "Traceback" not in down.text
        with maintenance() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                          (db_url.rsplit("/", 1)[1],))  # fmt: skip
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(db_url.rsplit("/", 1)[1])))  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while c.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "the view did not recover"
                time.sleep(0.5)
            assert c.get("/").status_code == 200
            with maintenance() as admin:  # the server drops the view's connections
                killed = [pid for (pid,) in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]  # fmt: skip
                admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                              (killed,))  # fmt: skip
                # a backend told to end lingers a moment: a request that reaches it then
                # fails mid-query (a 503 is right); once gone, the pool must replace it
                while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                                    (killed,)).fetchone() != (0,):  # fmt: skip
                    time.sleep(0.01)
            # the pool replaces them by itself (it may still be backing off from the
            # database that was missing: a moment, never a restart)
            while c.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "the view did not recover"
                time.sleep(0.1)
            assert c.get("/").status_code == 200
        finally:
            client_pool = c.app.state.store._source  # type: ignore[attr-defined]
            c.portal.call(client_pool.close)  # type: ignore[union-attr]
            with maintenance() as admin:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_backtest_store_serve(db_url: str, seeded: Seeded, tmp_path: Path) -> None:
    """The command: loopback by default, the token from --token-file, a warning for another
    host without one, a short token refused."""
    import urllib.error
    import urllib.request

    cli = str(Path(sys.executable).with_name("backtest-store"))
    (tmp_path / "token").write_text(TOKEN + "\n")
    port = _free_port()
    server = subprocess.Popen([cli, "serve", "--database", db_url, "--port", str(port),
                               "--token-file", str(tmp_path / "token")],
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert "http://127.0.0.1:" in (server.stderr.readline() if server.stderr else "")
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/healthz") as r:
                    assert r.status == 200
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        request = urllib.request.Request(f"{base}/api/", headers={"authorization": "Bearer x"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 401
        request = urllib.request.Request(
            f"{base}/api/", headers={"authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request) as r:
            assert r.status == 200 and r.headers["content-type"] == "application/json"
    finally:
        server.terminate()
        server.wait(10)
    (tmp_path / "short").write_text("abc")
    short = subprocess.run([cli, "serve", "--database", db_url, "--token-file",
                            str(tmp_path / "short")], capture_output=True, text=True)  # fmt: skip
    assert short.returncode == 2 and "at least 16" in short.stderr
    anyone = subprocess.Popen([cli, "serve", "--database", db_url, "--host", "0.0.0.0",
                               "--port", str(_free_port())], stderr=subprocess.PIPE, text=True,
                              env={k: v for k, v in os.environ.items()
                                   if k != "BACKTEST_STORE_WEB_TOKEN"})  # fmt: skip
    try:
        assert "warning: serving 0.0.0.0 without a token" in (
            anyone.stderr.readline() if anyone.stderr else ""
        )
    finally:
        anyone.terminate()
        anyone.wait(10)


def test_serve_on_a_busy_port_says_so_before_anything_else(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was: the "serving at" line, then uvicorn's bind error, then exit 3 ("the
    database cannot be reached")."""
    import socket

    from backtest_store.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--database", db_url, "--port", str(port)]) == 5
    err = capsys.readouterr().err
    assert err == (f"backtest-store serve: port {port} on 127.0.0.1 is in use (another server "
                   "is listening there): stop it, or choose another with --port\n")  # fmt: skip
    assert main(["serve", "--database", db_url, "--host", "192.0.2.1", "--port", "1"]) == 2
    assert "cannot listen on 192.0.2.1:1" in capsys.readouterr().err
