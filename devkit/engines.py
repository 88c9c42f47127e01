"""A backtesting.py strategy the tests, the screenshots and the README examples run on
the data backtesting.py ships."""

from __future__ import annotations

from backtesting import Strategy
from backtesting.lib import crossover
from backtesting.test import SMA


class SmaCross(Strategy):  # type: ignore[misc]
    """Long and short on SMA crossings, with stop-loss and take-profit on every entry;
    a last long entry on the final bar stays open at the end."""

    n1 = 10
    n2 = 20
    stop = 0.05
    target = 0.10

    def init(self) -> None:
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)

    def next(self) -> None:
        close = self.data.Close[-1]
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy(sl=close * (1 - self.stop), tp=close * (1 + self.target))
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell(sl=close * (1 + self.stop), tp=close * (1 - self.target))
        if len(self.data) == self._last_bar and not self.position:
            self.buy()

    @property
    def _last_bar(self) -> int:
        return len(self.data._Data__df) - 1
