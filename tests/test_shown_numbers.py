"""Numbers as they were stored, in the column's unit, without exponent or padding: no
"0E-8" in any JSON or CSV, prices without trailing zeros beyond what the column needs,
summary means to the scale of the column they average, and the web view's units as it
shows its values ("%" beside a percentage, never "fraction")."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from devkit.records import result, trade

from backtest_store import BacktestStore
from backtest_store.cli.main import main

pytest.importorskip("starlette", reason="the web view's extra: pip install 'backtest-store[web]'")

from starlette.testclient import TestClient

from backtest_store.web import create_app

EXPONENT = re.compile(r"\d(?:\.\d+)?E[-+]?\d")  # Decimal writes 0E-8 (ids hold a lower-case e)


def test_numbers_show_as_stored_without_exponent_or_padding(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with BacktestStore.connect(db_url) as store:
        saved = store.save_backtest(
            result(max_drawdown=Decimal(0), volatility=Decimal(0), sharpe_ratio=Decimal("0.5"),
                   total_return=Decimal("3.3734"), win_rate=Decimal("0.4946")),
            [trade(0, entry_price=Decimal("169.02"), exit_price=Decimal("179.13"),
                   pnl_percent=Decimal(0), pnl=Decimal("-637.5717")),
             trade(1, entry_price=Decimal("182"), exit_price=Decimal("160.5705"))],
        )  # fmt: skip
        store.save_backtest(result(sharpe_ratio=Decimal("0.1"), win_rate=Decimal("0.3333")))
        store.save_backtest(result(sharpe_ratio=Decimal("0.2"), win_rate=Decimal("0.3333")))
    the_id = str(saved.backtest_id)
    outputs = {}
    for args in (["show", the_id, "--json"], ["trades", the_id, "--csv"],
                 ["trades", the_id, "--json"], ["summary", "--json"], ["list", "--json"]):  # fmt: skip
        assert main([*args, "--database", db_url]) == 0
        outputs[" ".join(a for a in args if a != the_id)] = capsys.readouterr().out
    for name, text in outputs.items():
        assert not EXPONENT.search(text), (name, text)
    shown = json.loads(outputs["show --json"])
    assert shown["backtest"]["max_drawdown"] == "0.00000000"  # the column's scale, as stored
    rows = list(csv.DictReader(io.StringIO(outputs["trades --csv"])))
    assert rows[0]["pnl_percent"] == "0.00000000"
    means = json.loads(outputs["summary --json"])["overall"]
    assert means["mean_sharpe"] == "0.2667"  # numeric(8,4): 4 decimals, not 20
    assert means["mean_win_rate"] == "0.38706667"  # (0.4946 + 2 * 0.3333) / 3 at its scale, 8
    with TestClient(create_app(db_url)) as client:
        api = client.get(f"/api/backtests/{the_id}").text
        assert not EXPONENT.search(api) and json.loads(api) == shown
        assert client.get("/api/summary").json() == json.loads(outputs["summary --json"])
        page = client.get(f"/backtests/{the_id}").text
    assert "169.02000000" not in page and "182.0000" not in page
    for price in ("169.02", "182.00", "179.1300", "160.5705"):  # each column to its precision
        assert f">{price}<" in page, price
    units = re.findall(r'<td class="note">([^<]*)</td>', page)
    assert "fraction" not in units and "%" in units
