"""Deposit / withdrawal status where the real venue publishes it only to signed requests, in each
venue's own format (written from the venues' docs, independently of the clients in `arb.venues`):

- Binance ``GET /sapi/v1/capital/config/getall`` (USER_DATA, weight 10): a list of coins
  ``{coin, depositAllEnable, withdrawAllEnable, name, free, locked, ..., networkList: [{network,
  coin, isDefault, depositEnable, withdrawEnable, depositDesc, withdrawDesc, name, withdrawFee,
  withdrawMin, withdrawMax, minConfirm, ...}]}`` (``depositDesc`` / ``withdrawDesc`` say why when
  closed); https://developers.binance.com/docs/wallet/capital/all-coins-info
- MEXC ``GET /api/v3/capital/config/getall`` (weight 10): ``[{coin, name, networkList: [{coin,
  depositDesc, depositEnable, minConfirm, name, network, withdrawEnable, withdrawFee, withdrawMax,
  withdrawMin, sameAddress, contract, withdrawTips, depositTips, netWork}]}]``;
  https://www.mexc.com/api-docs/spot-v3/wallet-endpoints
- OKX ``GET /api/v5/asset/currencies`` (6 requests/s per user, optional ``ccy`` list): ``data`` has
  one row per currency and chain ``{ccy, chain: "USDT-TRC20", canDep, canWd, canInternal, name,
  minDep, minWd, maxWd, minFee, maxFee, mainNet, needTag, ...}``;
  https://www.okx.com/docs-v5/en/#funding-account-rest-api-get-currencies
- Bybit ``GET /v5/asset/coin/query-info`` (optional ``coin``): ``result.rows[{name, coin,
  remainAmount, chains: [{chain, chainType, confirmation, withdrawFee, depositMin, withdrawMin,
  minAccuracy, chainDeposit: "1" | "0", chainWithdraw: "1" | "0", withdrawPercentageFee,
  contractAddress, safeConfirmNumber}]}]``; https://bybit-exchange.github.io/docs/v5/asset/coin-info

Every asset a venue has (`MarketModel.assets`) is listed, each on its own chain, the stablecoins on
several (`CHAINS`). An asset's status (`MarketModel.transfer`: deposits open, withdrawals open)
holds on each of its chains, except that the last chain of a multi-chain asset is under maintenance
(closed both ways), as one network of a stablecoin often is: an asset is open as long as one chain
is, and a client that read one chain only would get USDT wrong.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from arb.sim.market import MarketModel
from arb.sim.matching import Ledger

Row = dict[str, Any]
# multi-chain assets (their last chain under maintenance); any other asset has one chain of its own
CHAINS: Final = {"USDT": ("ETH", "TRX", "BSC"), "USDC": ("ETH", "SOL", "BSC")}
NETWORK_NAMES: Final = {"ETH": "Ethereum (ERC20)", "TRX": "Tron (TRC20)", "BSC": "BNB Smart Chain (BEP20)",
                        "SOL": "Solana"}
MEXC_NETWORKS: Final = {"ETH": "ERC20", "TRX": "TRC20", "BSC": "BEP20(BSC)", "SOL": "SOL"}
OKX_CHAINS: Final = {"ETH": "ERC20", "TRX": "TRC20", "BSC": "BSC", "SOL": "Solana"}
DEPOSIT_CLOSED: Final = "Wallet Maintenance, Deposit Suspended"
WITHDRAW_CLOSED: Final = "Wallet Maintenance, Withdrawal Suspended"


class Chain(NamedTuple):
    key: str  # the chain (network) id: ETH, TRX, or the asset's own
    deposit: bool
    withdraw: bool
    default: bool


def chains(market: MarketModel, venue: str, asset: str) -> list[Chain]:
    """`asset`'s chains on `venue` (its own name) with their status (see the module docstring)."""
    deposit, withdraw = market.transfer(venue, asset)
    keys = CHAINS.get(asset, (asset,))
    out = [Chain(key, deposit, withdraw, i == 0) for i, key in enumerate(keys)]
    if len(out) > 1:
        out[-1] = Chain(out[-1].key, False, False, False)
    return out


def binance_coins(market: MarketModel, venue: str, ledger: Ledger, account: str) -> list[Row]:
    """The body of Binance's ``/sapi/v1/capital/config/getall`` for `account`."""
    out = []
    for asset in market.assets(venue):
        free, locked = ledger.free(account, asset), ledger.locked(account, asset)
        networks = [{
            "network": ch.key, "coin": asset, "withdrawIntegerMultiple": "0.00000001",
            "isDefault": ch.default, "depositEnable": ch.deposit, "withdrawEnable": ch.withdraw,
            "depositDesc": "" if ch.deposit else DEPOSIT_CLOSED,
            "withdrawDesc": "" if ch.withdraw else WITHDRAW_CLOSED, "specialTips": "",
            "specialWithdrawTips": "",
            "name": NETWORK_NAMES.get(ch.key, asset), "resetAddressStatus": False,
            "addressRegex": "^[0-9A-Za-z]{26,64}$", "memoRegex": "", "withdrawFee": "0.1", "withdrawMin": "1",
            "withdrawMax": "9999999999", "withdrawInternalMin": "0.00000001", "depositDust": "0.00000001",
            "minConfirm": 12, "unLockConfirm": 0, "sameAddress": False, "withdrawTag": False,
            "estimatedArrivalTime": 5, "busy": False, "contractAddressUrl": "", "contractAddress": "",
        } for ch in chains(market, venue, asset)]
        out.append({
            "coin": asset, "depositAllEnable": any(n["depositEnable"] for n in networks),
            "withdrawAllEnable": any(n["withdrawEnable"] for n in networks), "name": asset,
            "free": format(free, "f"), "locked": format(locked, "f"), "freeze": "0", "withdrawing": "0",
            "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": False, "trading": True,
            "networkList": networks,
        })
    return out


def mexc_coins(market: MarketModel, venue: str) -> list[Row]:
    """The body of MEXC's ``/api/v3/capital/config/getall``."""
    out = []
    for asset in market.assets(venue):
        networks = []
        for ch in chains(market, venue, asset):
            network = MEXC_NETWORKS.get(ch.key, asset)
            networks.append({
                "coin": asset, "depositDesc": None if ch.deposit else DEPOSIT_CLOSED,
                "depositEnable": ch.deposit, "minConfirm": 12, "name": asset, "network": network,
                "withdrawEnable": ch.withdraw, "withdrawFee": "1.000000000000000000",
                "withdrawIntegerMultiple": None, "withdrawMax": "10000000.000000000000000000",
                "withdrawMin": "2.000000000000000000", "sameAddress": False, "contract": "",
                "withdrawTips": None if ch.withdraw else WITHDRAW_CLOSED, "depositTips": None,
                "netWork": network,
            })
        out.append({"coin": asset, "name": asset, "networkList": networks})
    return out


def okx_currencies(market: MarketModel, venue: str, wanted: set[str]) -> list[Row]:
    """The ``data`` of OKX's ``/api/v5/asset/currencies`` (every currency when `wanted` is empty)."""
    out = []
    for asset in market.assets(venue):
        if wanted and asset not in wanted:
            continue
        for ch in chains(market, venue, asset):
            out.append({
                "ccy": asset, "chain": f"{asset}-{OKX_CHAINS.get(ch.key, asset)}", "name": asset,
                "logoLink": "", "ctAddr": "", "canDep": ch.deposit, "canWd": ch.withdraw, "canInternal": True,
                "depEstOpenTime": "", "wdEstOpenTime": "", "minDep": "0.00005", "minWd": "0.0005",
                "minInternal": "0.0001", "maxWd": "500", "wdTickSz": "8", "wdQuota": "10000000",
                "usedWdQuota": "0", "fee": "0.0002", "minFee": "0.0002", "maxFee": "0.0004",
                "minFeeForCtAddr": "", "maxFeeForCtAddr": "", "burningFeeRate": "", "mainNet": ch.default,
                "needTag": False, "minDepArrivalConfirm": "1", "minWdUnlockConfirm": "2", "depQuotaFixed": "",
                "usedDepQuotaFixed": "", "depQuoteDailyLayer2": "",
            })
    return out


def bybit_coins(market: MarketModel, venue: str, wanted: str) -> Row:
    """The ``result`` of Bybit's ``/v5/asset/coin/query-info`` (every coin when `wanted` is empty)."""
    rows = []
    for asset in market.assets(venue):
        if wanted and asset != wanted:
            continue
        rows.append({"name": asset, "coin": asset, "remainAmount": "1000000", "chains": [{
            "chain": ch.key, "chainType": NETWORK_NAMES.get(ch.key, asset), "confirmation": "12",
            "withdrawFee": "0.1", "depositMin": "0", "withdrawMin": "1", "minAccuracy": "8",
            "chainDeposit": "1" if ch.deposit else "0", "chainWithdraw": "1" if ch.withdraw else "0",
            "withdrawPercentageFee": "0", "contractAddress": "", "safeConfirmNumber": "64",
        } for ch in chains(market, venue, asset)]})
    return {"rows": rows}


__all__ = ["CHAINS", "Chain", "binance_coins", "bybit_coins", "chains", "mexc_coins", "okx_currencies"]
