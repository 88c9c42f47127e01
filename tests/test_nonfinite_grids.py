"""Parameter grids that never trade: the refusal of a non-finite figure names every such
field and the way out, and a non-finite objective never gets a rank, under both policies."""

from __future__ import annotations

import math
from typing import Any

import pytest
from devkit.records import optimization, result

from backtest_store import BacktestStore, ValidationError


def test_the_refusal_names_every_nonfinite_field_and_the_way_out(db_url: str) -> None:
    with BacktestStore.connect(db_url) as store, pytest.raises(ValidationError) as refused:
        store.save_backtest(result(sharpe_ratio=math.nan, sortino_ratio=math.inf, calmar_ratio=1))
    message = str(refused.value)
    assert "sharpe_ratio = nan is not a finite number" in message
    assert "so are sortino_ratio = inf" in message and "calmar_ratio" not in message
    assert 'nonfinite="null"' in message
    assert refused.value.field == "sharpe_ratio"


@pytest.mark.parametrize("policy", ["refuse", "null"])
def test_a_nonfinite_objective_gets_no_rank(db_url: str, policy: Any) -> None:
    records = [
        optimization(1, objective_value=math.inf, rank=1),  # ranked by a caller: dropped
        optimization(2, objective_value=1.5),
        optimization(3, objective_value=0.5),
    ]
    with BacktestStore.connect(db_url, nonfinite=policy) as store:
        parent = store.save_backtest(result()).backtest_id
        if policy == "refuse":
            with pytest.raises(ValidationError, match=r'objective_value = inf.*nonfinite="null"'):
                store.save_optimization_results(parent, records)
            assert store.optimization_results(parent) == []
            return
        saved = store.save_optimization_results(parent, records)
        assert [(r.objective_value, r.rank) for r in saved] == [(None, None), (1.5, 1), (0.5, 2)]
        (best,) = store.best_parameters(parent, limit=1)
        assert best.parameters == {"fast": 2, "slow": 50}
