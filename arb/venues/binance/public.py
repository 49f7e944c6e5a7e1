"""Binance REST market data: the shared ``/api/v3`` implementation (`arb.venues.apiv3`) on its facts."""

from __future__ import annotations

from types import MappingProxyType
from typing import ClassVar

from arb.model import KlineInterval
from arb.venues.apiv3 import MarketCodec, MarketFacts, V3Public
from arb.venues.base import TransferSource
from arb.venues.binance import codec as wire
from arb.venues.binance import constants as c

INTERVALS = MappingProxyType({KlineInterval.M1: "1m", KlineInterval.M5: "5m", KlineInterval.M15: "15m",
             KlineInterval.M30: "30m", KlineInterval.H1: "1h", KlineInterval.H4: "4h",
             KlineInterval.D1: "1d", KlineInterval.W1: "1w"})

MARKET = MarketFacts(
    venue=c.VENUE, spelling=c.SPELLING, time=c.TIME, exchange_info=c.EXCHANGE_INFO, depth=c.DEPTH,
    trades=c.TRADES, ticker=c.TICKER_24H, klines=c.KLINES, weights=c.WEIGHTS, pool="weight",
    intervals=INTERVALS, tickers_weight=c.TICKERS_ALL_WEIGHT, depth_weight=c.depth_weight,
)


class BinancePublic(V3Public):
    """Binance spot market data (one request-weight pool per IP)."""

    venue = c.VENUE
    transfer_source = TransferSource.SIGNED  # its private connector reads it
    facts = MARKET
    codec: ClassVar[MarketCodec] = wire
