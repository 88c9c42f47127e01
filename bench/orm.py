"""The baseline the package replaces: an SQLAlchemy ORM mapping of the same two tables,
saved the way the old persistence manager did (session.add / add_all, then commit)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class OrmResult(Base):
    __tablename__ = "mcp_backtest_results"

    backtest_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    symbol: Mapped[str] = mapped_column(String(10))
    strategy_type: Mapped[str] = mapped_column(String(50))
    backtest_date: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=func.now())
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    parameters: Mapped[Any] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), nullable=True
    )
    total_return: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    sharpe_ratio: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    max_drawdown: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    total_trades: Mapped[int | None] = mapped_column(Integer)
    equity_curve: Mapped[Any] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), nullable=True
    )
    drawdown_series: Mapped[Any] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), nullable=True
    )
    data_points: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=func.now())


class OrmTrade(Base):
    __tablename__ = "mcp_backtest_trades"

    trade_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    backtest_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mcp_backtest_results.backtest_id"))
    trade_number: Mapped[int] = mapped_column(Integer)
    entry_date: Mapped[date] = mapped_column(Date)
    entry_price: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    exit_date: Mapped[date | None] = mapped_column(Date)
    exit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    position_size: Mapped[Decimal | None] = mapped_column(Numeric(15, 2))
    direction: Mapped[str] = mapped_column(String(5))
    pnl: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    pnl_percent: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    duration_days: Mapped[int | None] = mapped_column(Integer)
    exit_reason: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=func.now())
