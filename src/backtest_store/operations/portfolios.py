"""Portfolios read: pages newest first, by name. (``get_portfolio`` is
``backtests.get_one`` on the portfolios' table.)"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from backtest_store.operations.arguments import (
    StoreSettings,
    check_limit,
    page_key,
)
from backtest_store.operations.rows import record_row
from backtest_store.operations.sql import (
    Statement,
    columns_for,
    equal_filters,
    given,
    newest_first,
    paging,
    param,
    render,
    select,
)
from backtest_store.operations.steps import Operation, fetch
from backtest_store.records import (
    BacktestPortfolio,
)
from backtest_store.tables import (
    PORTFOLIOS,
)


@lru_cache(maxsize=16)
def _list_portfolios_sql(present: frozenset[str], with_series: bool) -> str:
    query = select(PORTFOLIOS, columns_for(PORTFOLIOS, with_series))
    query = equal_filters(PORTFOLIOS, query, present, ("portfolio_name",))
    query = newest_first(PORTFOLIOS, query, "after_date" in present)
    return render(query.limit(param("limit")))


def portfolios_statement(
    *,
    portfolio_name: str | None,
    after: tuple[datetime, Any] | None,
    limit: int,
    with_series: bool,
) -> Statement:
    params = given(portfolio_name=portfolio_name, limit=limit, **paging(after))
    return Statement(_list_portfolios_sql(frozenset(params), with_series), params)


def list_portfolios(
    settings: StoreSettings,
    *,
    portfolio_name: str | None,
    limit: int,
    after: BacktestPortfolio | None,
    with_series: bool,
) -> Operation[list[BacktestPortfolio]]:
    m = "list_portfolios"
    statement = portfolios_statement(
        portfolio_name=settings.argument(PORTFOLIOS, "portfolio_name", portfolio_name, method=m),
        after=page_key(m, after, BacktestPortfolio, "portfolio_backtest_id"),
        limit=check_limit(m, limit),
        with_series=bool(with_series),
    )
    rows = yield fetch(statement, "all", record_row(PORTFOLIOS))
    return list(rows)
