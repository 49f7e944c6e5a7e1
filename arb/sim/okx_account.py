"""OKX balances of the simulator: the ``GET /api/v5/account/balance`` object the ``account`` channel shares.

Written from the fact sheet (§1.3, §1.10) and ``rest_balance_docs.json``: ``data[0]`` holds the account
totals in USD and ``details[]``, one per currency with a non-zero balance: ``cashBal`` / ``eq`` the
total, ``availBal`` / ``availEq`` what is free, ``frozenBal`` / ``ordFrozen`` what open orders hold.
USD values use the book's mid of ``<ccy>-USDT`` (a stablecoin counts 1, a currency without a USDT
pair 0). The margin fields of a trading account print as OKX prints them for a plain spot account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from arb.model import Symbol
from arb.sim.market import MarketModel
from arb.sim.matching import Ledger
from arb.sim.okx_wire import Row, num

ZERO: Final = Decimal(0)
DOLLARS: Final = frozenset({"USDT", "USDC", "USD"})
WS_LEAVES_OUT: Final = ("autoLendStatus", "autoLendMtAmt", "maxSpotInUse")


def usd_price(market: MarketModel, venue: str, asset: str) -> Decimal:
    if asset in DOLLARS:
        return Decimal(1)
    symbol = Symbol(asset, "USDT")
    return market.mid(venue, symbol) if (venue, symbol) in market.books else ZERO


def balance_detail(ledger: Ledger, market: MarketModel, venue: str, account: str, asset: str,
                   now: int, pushed: bool = False) -> Row:
    """One currency's row; `pushed`: as the ``account`` channel prints it (ws_account_push_docs.json:
    ``coinUsdPrice`` and ``maxSpotInUseAmt``, no auto-lend fields)."""
    free, locked = ledger.free(account, asset), ledger.locked(account, asset)
    total = free + locked
    price = usd_price(market, venue, asset)
    usd = num(total * price)
    row: Row = {
        "autoLendStatus": "off", "autoLendMtAmt": "0", "availBal": num(free), "availEq": num(free),
        "borrowFroz": "0", "cashBal": num(total), "ccy": asset, "crossLiab": "0", "colRes": "0",
        "collateralEnabled": False, "collateralRestrict": False, "colBorrAutoConversion": "0", "disEq": usd,
        "eq": num(total), "eqUsd": usd, "smtSyncEq": "0", "spotCopyTradingEq": "0", "fixedBal": "0",
        "frozenBal": num(locked), "frpType": "0", "imr": "", "interest": "0", "isoEq": "0", "isoLiab": "0",
        "isoUpl": "0", "liab": "0", "maxLoan": "0", "mgnRatio": "", "mmr": "", "notionalLever": "",
        "ordFrozen": num(locked), "rewardBal": "0", "spotInUseAmt": "", "clSpotInUseAmt": "",
        "maxSpotInUse": "", "spotIsoBal": "0", "stgyEq": "0", "twap": "0", "uTime": str(now), "upl": "0",
        "uplLiab": "0", "spotBal": "", "openAvgPx": "", "accAvgPx": "", "spotUpl": "", "spotUplRatio": "",
        "totalPnl": "", "totalPnlRatio": "",
    }
    if pushed:
        for key in WS_LEAVES_OUT:
            row.pop(key)
        row.update(coinUsdPrice=num(price), maxSpotInUseAmt="")
    return row


def balance_json(ledger: Ledger, market: MarketModel, venue: str, account: str, assets: list[str],
                 now: int, pushed: bool = False) -> Row:
    """The balance object of `assets` (``data[0]`` of the REST answer, of an ``account`` push)."""
    details = [balance_detail(ledger, market, venue, account, a, now, pushed) for a in assets]
    total = num(sum((Decimal(str(d["eqUsd"])) for d in details), ZERO))
    return {
        "adjEq": total, "availEq": total, "borrowFroz": "0", "delta": "0", "deltaLever": "0",
        "deltaNeutralStatus": "0", "details": details, "imr": "0", "isoEq": "0", "mgnRatio": "", "mmr": "0",
        "notionalUsd": "0", "notionalUsdForBorrow": "0", "notionalUsdForFutures": "0",
        "notionalUsdForOption": "0", "notionalUsdForSwap": "0", "ordFroz": "", "totalEq": total,
        "uTime": str(now), "upl": "0",
    }


def held_assets(ledger: Ledger, account: str) -> list[str]:
    """The account's currencies with a non-zero balance (OKX lists only those)."""
    return [a for a, (free, locked) in ledger.balances(account).items() if free + locked]
