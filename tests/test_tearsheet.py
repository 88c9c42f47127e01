"""The tearsheet's figures on curves whose answers are known by hand: calendar returns,
the worst drawdowns with their start, valley and recovery, rolling volatility and Sharpe,
rebasing to a common start; and on a real backtesting.py run's stored curve, against the
library's own figures."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from devkit.records import result
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest_store import BacktestStore, charts, tearsheet
from backtest_store.tearsheet import Curve, curve_of


def daily(values: list[float], start: datetime = datetime(2024, 1, 1, tzinfo=UTC)) -> Curve:
    return Curve([start + timedelta(days=i) for i in range(len(values))], values)


def test_stored_curves_of_every_shape_read_alike() -> None:
    pairs = [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 110.5]]
    legacy = {"2024-01-02 00:00:00": 110.5, "2024-01-01 00:00:00": 100}
    for stored in (pairs, legacy):
        curve = curve_of(stored)
        assert curve.values == [100.0, 110.5]
        assert curve.times == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)]
    plain = curve_of([1, 2.5, None, float("nan"), 3])
    assert plain.times is None and plain.values == [1.0, 2.5, 3.0]
    assert curve_of(None).values == [] and curve_of([]).values == []


# each point's x for a chart is made from its stored text where it can be (formatting the
# times again was half of a tearsheet's figures): a text a chart reads as the same instant
# in UTC
LABELS = [
    ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05"),
    ("2024-01-02T03:04:05.25Z", "2024-01-02T03:04:05.25"),
    ("2024-01-02 03:04:05+00:00", "2024-01-02 03:04:05"),
    ("2024-01-02T03:04:05", "2024-01-02T03:04:05"),  # no zone: taken as UTC
    ("2024-01-02", "2024-01-02T00:00:00"),
    ("2024-01-02T08:04:05+05:00", "2024-01-02T03:04:05"),  # another zone: made in UTC
    ("20240102T030405Z", "2024-01-02T03:04:05"),  # the basic form, which a chart cannot read
]


@pytest.mark.parametrize(("stored", "label"), LABELS)
def test_a_point_s_label_is_its_stored_text_in_utc(stored: str, label: str) -> None:
    for form in ([[stored, 1.0], [stored, 2.0]], {stored: 1.0}):
        assert set(labels(curve_of(form))) == {label}
        assert set(curve_of(form).labels().every()) == {label}


def labels(curve: Curve) -> list[object]:
    shown = curve.labels()
    return [shown[i] for i in range(len(curve))]


WHENS = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat().replace("+00:00", "Z")),
    st.sampled_from([stored for stored, _ in LABELS] + ["", "Z", "2024", "not a time"]),
)
VALUES = st.one_of(st.floats(), st.integers(-(10**6), 10**6), st.booleans(), st.none(),
                   st.just("1.5"))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(WHENS, VALUES).map(list), min_size=1, max_size=8))
def test_each_label_names_the_time_it_stands_for(pairs: list[list[object]]) -> None:
    curve = curve_of(pairs)
    # all of them at once (checked over the whole curve when every text ends in "Z") are
    # each one made alone
    assert curve.labels().every() == labels(curve)
    for when, label in zip(curve.times or (), labels(curve), strict=True):
        assert isinstance(label, str)
        assert datetime.fromisoformat(label).replace(tzinfo=UTC) == when


def test_monthly_and_yearly_returns_chain_from_the_last_value_of_the_period_before() -> None:
    # 100 on Jan 1; 110 at the end of January; 99 at the end of February; 120 in 2025
    times = [
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 31, tzinfo=UTC),
        datetime(2024, 2, 10, tzinfo=UTC),
        datetime(2024, 2, 29, tzinfo=UTC),
        datetime(2025, 3, 1, tzinfo=UTC),
    ]
    curve = Curve(times, [100, 110, 105, 99, 120])
    monthly = tearsheet.monthly_returns(curve)
    assert monthly.keys() == {(2024, 1), (2024, 2), (2025, 3)}
    assert monthly[2024, 1] == pytest.approx(0.10)
    assert monthly[2024, 2] == pytest.approx(99 / 110 - 1)
    assert monthly[2025, 3] == pytest.approx(120 / 99 - 1)
    yearly = tearsheet.yearly_returns(curve)
    assert yearly == pytest.approx({2024: -0.01, 2025: 120 / 99 - 1})
    # chained, the months give the whole run's return
    assert math.prod(1 + r for r in monthly.values()) == pytest.approx(120 / 100)
    assert tearsheet.monthly_returns(Curve(None, [1, 2, 3])) == {}


def test_the_worst_drawdowns_are_found_deepest_first_with_their_dates() -> None:
    values: list[float] = [100, 120, 90, 120, 130, 117, 125, 131, 100, 110]
    curve = daily(values)
    t = curve.times
    assert t is not None
    worst = tearsheet.worst_drawdowns(curve, 5)
    assert [round(d.depth, 6) for d in worst] == [
        round(90 / 120 - 1, 6),
        round(100 / 131 - 1, 6),  # still under water at the end: no recovery
        round(117 / 130 - 1, 6),
    ]
    first, open_, middle = worst
    assert (open_.start, open_.valley, open_.recovery, open_.length) == (t[7], t[8], None, 2)
    assert (first.start, first.valley, first.recovery, first.length) == (t[1], t[2], t[3], 2)
    assert (middle.start, middle.valley, middle.recovery) == (t[4], t[5], t[7])
    assert tearsheet.worst_drawdowns(curve, 1) == [first]
    assert tearsheet.worst_drawdowns(daily([1, 2, 3]), 5) == []
    assert tearsheet.underwater([100, 120, 90, 130]) == pytest.approx([0, 0, -0.25, 0])


def test_rolling_volatility_and_sharpe_match_their_definitions() -> None:
    steady = daily([100 * 1.001**i for i in range(400)])
    roll = tearsheet.rolling(steady, window=20)
    assert roll.window == 20 and len(roll.volatility) == 400 - 20
    assert max(roll.volatility) == pytest.approx(0, abs=1e-9)  # the same return every day
    assert all(s is None for s in roll.sharpe)  # no volatility: no Sharpe ratio
    # alternating +1 % / -1 %: per-bar std of the window, annualised by bars per year
    values = [100.0]
    for i in range(300):
        values.append(values[-1] * (1.01 if i % 2 == 0 else 0.99))
    zigzag = daily(values)
    roll = tearsheet.rolling(zigzag, window=10)
    per_year = tearsheet.periods_per_year(zigzag)
    assert per_year == pytest.approx(365.25)  # one bar a calendar day
    window = [0.01 if i % 2 == 0 else -0.01 for i in range(10)]
    mean = sum(window) / 10
    std = math.sqrt(sum((r - mean) ** 2 for r in window) / 9)
    assert roll.volatility[0] == pytest.approx(std * math.sqrt(per_year))
    assert roll.sharpe[0] == pytest.approx(mean / std * math.sqrt(per_year), abs=1e-9)
    assert roll.x[0] == zigzag.times[10]  # type: ignore[index]


def test_curves_are_rebased_to_one_at_the_latest_common_start() -> None:
    early = daily([1000, 1100, 1210, 1331])
    late = daily([50, 55, 44], start=datetime(2024, 1, 2, tzinfo=UTC))
    a, b = tearsheet.rebased([early, late])
    assert a.times == late.times and b.times == late.times
    assert a.values == pytest.approx([1.0, 1.1, 1.21])
    assert b.values == pytest.approx([1.0, 1.1, 0.88])
    x, y = tearsheet.rebased([Curve(None, [2, 4]), Curve(None, [10, 5])])
    assert (x.values, y.values) == ([1.0, 2.0], [1.0, 0.5])


def test_curves_that_share_no_span_are_each_rebased_at_their_own_start() -> None:
    """GOOG 2004-13 beside EURUSD 2017-18: a common start left both empty ("no equity
    curve stored" for curves that exist)."""
    goog = daily([100, 150, 120])
    eurusd = daily([10_000, 9_000, 9_900], start=datetime(2024, 6, 1, tzinfo=UTC))
    assert not tearsheet.shared_span([goog, eurusd])
    a, b = tearsheet.rebased([goog, eurusd])
    assert a.times == goog.times and b.times == eurusd.times
    assert a.values == pytest.approx([1.0, 1.5, 1.2])
    assert b.values == pytest.approx([1.0, 0.9, 0.99])
    assert tearsheet.shared_span([goog, daily([1, 2], start=goog.times[-1])])  # type: ignore[index]
    figure, notes = charts.equity_figure([result(), result()], {}, gl=False, curves=[goog, eurusd])
    assert notes == ["the curves share no span of time: each rebased to 1.0 at its own start"]
    assert [len(t["y"]) for t in figure["data"] if t.get("yaxis") != "y2"] == [3, 3]


def test_a_backtesting_run_gives_the_library_s_own_figures(db_url: str) -> None:
    from backtesting import Backtest
    from backtesting.test import GOOG
    from devkit.engines import SmaCross

    from backtest_store.adapters.backtesting import from_stats

    stats = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002).run()
    result, _ = from_stats(stats, symbol="GOOG")
    with BacktestStore.connect(db_url) as store:
        stored = store.get_backtest(store.save_backtest(result).backtest_id)
    assert stored is not None
    curve = curve_of(stored.equity_curve)
    assert curve.times is not None and len(curve) == len(stats._equity_curve)
    worst = tearsheet.worst_drawdowns(curve, 1)[0]
    assert worst.depth == pytest.approx(stats["Max. Drawdown [%]"] / 100, abs=1e-6)
    yearly = tearsheet.yearly_returns(curve)
    assert math.prod(1 + r for r in yearly.values()) - 1 == pytest.approx(
        stats["Return [%]"] / 100, rel=1e-6
    )
