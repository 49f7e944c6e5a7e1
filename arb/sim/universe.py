"""A larger, realistic symbol universe for the simulator (opt-in: ``SimExchange(universe="large")``,
``arb-engine sim --universe large``).

About fifty pairs: mostly USDT, a few USDC and BTC quotes, with partial overlaps (some pairs on one
venue only, some on two, most on several), per-venue 24 h quote volumes spanning large and thin
markets, and the renamed assets real venues have (the same table ccxt keeps as each exchange's
``commonCurrencies``):

- MEXC lists StepN's GMT as ``STEPN`` and Neo's GAS as ``GASNEO``; its own ``GMT`` is another token
  (GMT Token, unified as ``GMTTOKEN``): pairing MEXC's ``GMTUSDT`` with Binance's would be wrong.
- Gate's ``GTC`` is Game.com (unified as ``GAMECOM``), not Gitcoin (Binance's and MEXC's ``GTC``).

Transfer status is served where and as the real venue publishes it: Gate without keys
(``/spot/currencies``: ``GAS`` withdrawals closed, ``KAS`` deposits closed); Binance, MEXC, OKX and
Bybit only to signed requests, per chain (`arb.sim.transfers`): Binance has ``FIL`` withdrawals
closed, MEXC ``FET`` deposits closed, OKX ``TIA`` deposits closed, Bybit ``INJ`` withdrawals closed.

OKX and Bybit list realistic subsets: the large caps, most of the mid caps, their own tokens (OKX's
``OKB``, Bybit's ``MNT``) and a few USDC and BTC pairs, with their own 24 h volumes (both next to
Binance on the majors).

The default five symbols (BTC, ETH, SOL, XRP, DOGE against USDT) keep their prices, ticks and steps
and are listed on every venue. A venue not in the tables below lists those five only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, NamedTuple

from arb.model import Symbol
from arb.sim.market import SimListing, SimSymbolSpec, default_universe

D = Decimal
M = 1_000_000


class _Pair(NamedTuple):
    symbol: str  # the market's name, BASE/QUOTE
    price: str
    tick: str
    step: str
    volumes: Mapping[str, float]  # venue -> 24 h quote volume (millions); absent: not listed


# binance (B), gateio (G), mexc (X), bybit (Y), okx (O): volumes in millions of quote per day
def _v(b: float = 0, g: float = 0, x: float = 0, y: float = 0, o: float = 0) -> dict[str, float]:
    return {k: v for k, v in (("binance", b), ("gateio", g), ("mexc", x), ("bybit", y), ("okx", o)) if v}


PAIRS: Final = (
    # the default five keep price, tick and step (`default_universe`)
    _Pair("BTC/USDT", "65000", "0.01", "0.00001", _v(1500, 400, 350, 900, o=700)),
    _Pair("ETH/USDT", "3200", "0.01", "0.0001", _v(800, 210, 190, 420, o=380)),
    _Pair("SOL/USDT", "150", "0.01", "0.001", _v(400, 90, 80, 160, o=150)),
    _Pair("XRP/USDT", "0.6", "0.0001", "0.1", _v(250, 60, 55, 90, o=85)),
    _Pair("DOGE/USDT", "0.15", "0.00001", "1", _v(200, 50, 45, 70, o=65)),
    # listed on every simulated venue
    _Pair("ADA/USDT", "0.45", "0.0001", "0.1", _v(60, 12, 10, 20, o=15)),
    _Pair("AVAX/USDT", "35", "0.01", "0.01", _v(55, 9, 8, 15, o=12)),
    _Pair("LINK/USDT", "14", "0.001", "0.01", _v(50, 8, 7, 12, o=11)),
    _Pair("DOT/USDT", "6.5", "0.001", "0.01", _v(30, 6, 5, 8, o=7)),
    _Pair("LTC/USDT", "80", "0.01", "0.001", _v(35, 7, 6, 9, o=10)),
    _Pair("TRX/USDT", "0.16", "0.00001", "1", _v(25, 5, 4, 6, o=5)),
    _Pair("NEAR/USDT", "5.2", "0.001", "0.1", _v(28, 4, 3.5, 6, o=5)),
    _Pair("UNI/USDT", "9.5", "0.001", "0.01", _v(18, 3, 2.5, 4, o=4)),
    _Pair("ATOM/USDT", "8.2", "0.001", "0.01", _v(16, 3, 2.2, 3.5, o=3)),
    _Pair("APT/USDT", "9", "0.001", "0.01", _v(20, 3.5, 3, 5, o=4)),
    _Pair("ARB/USDT", "0.8", "0.0001", "0.1", _v(22, 4, 3, 6, o=5)),
    _Pair("OP/USDT", "1.8", "0.0001", "0.01", _v(18, 3, 2.5, 4.5, o=4)),
    _Pair("SUI/USDT", "1.9", "0.0001", "0.1", _v(45, 11, 9, 17, o=14)),
    _Pair("PEPE/USDT", "0.00001", "0.00000001", "1", _v(120, 30, 40, 35, o=30)),
    _Pair("TON/USDT", "5.5", "0.001", "0.01", _v(15, 6, 5, 9, o=10)),
    # on some venues only
    _Pair("BNB/USDT", "580", "0.01", "0.001", _v(b=300, g=20, x=15, o=12)),
    _Pair("BCH/USDT", "380", "0.01", "0.001", _v(b=20, g=3, y=4, o=5)),
    _Pair("XLM/USDT", "0.11", "0.00001", "1", _v(b=8, x=1.2, y=2)),
    _Pair("FIL/USDT", "4.5", "0.001", "0.01", _v(b=12, g=2, x=1.5, o=2)),
    _Pair("INJ/USDT", "22", "0.01", "0.001", _v(b=14, g=2.5, y=3, o=2.5)),
    _Pair("SHIB/USDT", "0.000018", "0.00000001", "1", _v(b=30, g=8, x=9, o=9)),
    _Pair("WLD/USDT", "2.1", "0.0001", "0.1", _v(b=40, x=6, y=12, o=8)),
    _Pair("TIA/USDT", "6", "0.001", "0.01", _v(b=10, g=2, y=3, o=2.5)),
    _Pair("SEI/USDT", "0.4", "0.0001", "0.1", _v(b=9, g=1.5, x=1.2, y=2)),
    _Pair("ORDI/USDT", "35", "0.01", "0.01", _v(b=25, g=6, x=5, y=7, o=9)),
    _Pair("FET/USDT", "1.3", "0.0001", "0.1", _v(b=20, g=3, x=2.5)),
    _Pair("KAS/USDT", "0.12", "0.00001", "1", _v(g=9, x=11, y=6)),
    _Pair("JUP/USDT", "0.9", "0.0001", "0.1", _v(g=4, x=3, y=8, o=3)),
    _Pair("GMT/USDT", "0.15", "0.00001", "1", _v(b=12, g=1.5, x=2, o=1.8)),  # MEXC: STEPN
    _Pair("GAS/USDT", "4.2", "0.001", "0.01", _v(b=6, g=0.8, x=0.7)),  # MEXC: GASNEO; Gate: suspended
    _Pair("GTC/USDT", "1.1", "0.001", "0.1", _v(b=2, x=0.3)),  # Gitcoin (Gate's GTC is Game.com)
    _Pair("ZEC/USDT", "30", "0.01", "0.001", _v(b=5, g=0.04, o=1.2)),  # thin on Gate (40k a day)
    # on one venue only
    _Pair("GMTTOKEN/USDT", "0.05", "0.00001", "1", _v(x=0.2)),  # MEXC's own GMT
    _Pair("GAMECOM/USDT", "0.0004", "0.0000001", "10", _v(g=0.05)),  # Gate's GTC
    _Pair("MX/USDT", "3.2", "0.0001", "0.01", _v(x=25)),
    _Pair("GT/USDT", "9.5", "0.001", "0.01", _v(g=18)),
    _Pair("MNT/USDT", "0.6", "0.0001", "0.1", _v(y=30)),
    _Pair("OKB/USDT", "48", "0.001", "0.0001", _v(o=20)),
    # other quotes
    _Pair("BTC/USDC", "65000", "0.01", "0.00001", _v(b=300, g=20, x=15, y=80, o=60)),
    _Pair("ETH/USDC", "3200", "0.01", "0.0001", _v(b=120, g=8, y=30, o=25)),
    _Pair("SOL/USDC", "150", "0.01", "0.001", _v(b=60, y=15, o=8)),
    _Pair("ETH/BTC", "0.049", "0.00001", "0.0001", _v(b=40, g=2, x=1.5, y=5, o=4)),
    _Pair("SOL/BTC", "0.0023", "0.0000001", "0.001", _v(b=8, g=0.5)),
    _Pair("LTC/BTC", "0.00123", "0.000001", "0.01", _v(b=3, x=0.2, o=0.3)),
    _Pair("XRP/BTC", "0.0000092", "0.00000001", "1", _v(b=4, y=0.6)),
)

# venue -> the market's asset -> the venue's name for it (see the module docstring)
RENAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "mexc": {"GMT": "STEPN", "GAS": "GASNEO", "GMTTOKEN": "GMT"},
    "gateio": {"GAMECOM": "GTC"},
}
# venue -> its asset (own name) -> (deposits open, withdrawals open); every other asset is open
TRANSFERS: Final[Mapping[str, Mapping[str, tuple[bool, bool]]]] = {
    "gateio": {"GAS": (True, False), "KAS": (False, True)},  # public /spot/currencies
    "binance": {"FIL": (True, False)},  # signed from here on (arb.sim.transfers)
    "mexc": {"FET": (False, True)},
    "okx": {"TIA": (False, True)},
    "bybit": {"INJ": (True, False)},
}


class SimUniverse(NamedTuple):
    """What `MarketModel` takes: the symbols, each venue's listings and its transfer status."""

    specs: list[SimSymbolSpec]
    listings: dict[str, list[SimListing]]
    transfers: dict[str, dict[str, tuple[bool, bool]]]


def _renamed(venue: str, symbol: Symbol) -> Symbol:
    names = RENAMES.get(venue, {})
    return Symbol(names.get(symbol.base, symbol.base), names.get(symbol.quote, symbol.quote))


def large_universe(venues: Iterable[str]) -> SimUniverse:
    """The ~50-pair universe for `venues` (a venue without a column lists the default five)."""
    defaults = {spec.symbol: spec for spec in default_universe()}
    specs: list[SimSymbolSpec] = []
    for pair in PAIRS:
        symbol = Symbol.parse(pair.symbol)
        spec = defaults.get(symbol) or SimSymbolSpec(symbol, D(pair.price), D(pair.tick), D(pair.step))
        specs.append(spec)
    listings: dict[str, list[SimListing]] = {}
    for venue in venues:
        if not any(venue in pair.volumes for pair in PAIRS):
            continue  # a venue the tables do not know: the default five under their own names
        listings[venue] = [
            SimListing(spec.symbol, _renamed(venue, spec.symbol), D(repr(pair.volumes[venue] * M)))
            for pair, spec in zip(PAIRS, specs, strict=True) if venue in pair.volumes
        ]
    for venue in venues:
        if venue not in listings:
            listings[venue] = [SimListing(s, s) for s in defaults]
    transfers = {v: dict(t) for v, t in TRANSFERS.items() if v in listings}
    return SimUniverse(specs, listings, transfers)


__all__ = ["PAIRS", "RENAMES", "TRANSFERS", "SimUniverse", "large_universe"]
