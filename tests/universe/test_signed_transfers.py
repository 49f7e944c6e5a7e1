"""Transfer status from the venues that publish it only to signed requests (Binance, MEXC, OKX, Bybit):
the decoders on the venues' documented payloads (an asset is open one way when any chain is), each
private connector against the simulator's signed endpoint (its real signature check refuses a wrong
secret), and `arb.universe.discover` with keys, without keys, and with wrong keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from arb.config import default_config
from arb.credentials import Credentials, Secret
from arb.demo import sim_credentials
from arb.errors import AuthenticationError
from arb.model import Symbol, TransferStatus
from arb.sim.server import SimExchange
from arb.sim.universe import PAIRS, RENAMES, TRANSFERS, large_universe
from arb.universe import Transfers
from arb.venues import apiv3
from arb.venues.binance import constants as binance
from arb.venues.bybit import codec as bybit_codec
from arb.venues.bybit import orders as bybit_orders
from arb.venues.mexc import constants as mexc
from arb.venues.okx import orders as okx_orders
from arb.venues.registry import make_private
from tests.universe.discovery import Found, discover_transfers

SIGNED = ("binance", "mexc", "okx", "bybit")
VENUES = (*SIGNED, "gateio")
COMMON = {v: {own: common for common, own in names.items()} for v, names in RENAMES.items()}

# https://developers.binance.com/docs/wallet/capital/all-coins-info (response example, trimmed; the
# second copy closes the BSC network's withdrawals and both of ETH's: still open through BSC deposits)
BINANCE_DOC = b"""[{"coin": "1MBABYDOGE", "depositAllEnable": true, "withdrawAllEnable": true,
 "name": "1M x BABYDOGE", "free": "34941.1", "locked": "0", "freeze": "0", "withdrawing": "0",
 "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": false, "trading": true,
 "networkList": [
  {"network": "BSC", "coin": "1MBABYDOGE", "withdrawIntegerMultiple": "0.01", "isDefault": false,
   "depositEnable": true, "withdrawEnable": true, "depositDesc": "", "withdrawDesc": "", "specialTips": "",
   "specialWithdrawTips": "", "name": "BNB Smart Chain (BEP20)", "resetAddressStatus": false,
   "addressRegex": "^(0x)[0-9A-Fa-f]{40}$", "memoRegex": "", "withdrawFee": "10", "withdrawMin": "20",
   "withdrawMax": "9999999999", "withdrawInternalMin": "0.01", "depositDust": "0.01", "minConfirm": 5,
   "unLockConfirm": 0, "sameAddress": false, "withdrawTag": false, "estimatedArrivalTime": 1, "busy": false,
   "contractAddressUrl": "https://bscscan.com/token/",
   "contractAddress": "0xc748673057861a797275cd8a068abb95a902e8de", "denomination": 1000000},
  {"network": "ETH", "coin": "1MBABYDOGE", "withdrawIntegerMultiple": "0.01", "isDefault": true,
   "depositEnable": true, "withdrawEnable": true, "depositDesc": "", "withdrawDesc": "",
   "name": "Ethereum (ERC20)", "withdrawFee": "5", "withdrawMin": "10", "withdrawMax": "9999999999",
   "minConfirm": 12, "unLockConfirm": 0, "busy": false}]},
 {"coin": "BTC", "depositAllEnable": false, "withdrawAllEnable": true, "name": "Bitcoin", "free": "0",
  "locked": "0", "isLegalMoney": false, "trading": true,
  "networkList": [{"network": "BTC", "coin": "BTC", "isDefault": true, "depositEnable": false,
                   "withdrawEnable": true, "depositDesc": "Wallet Maintenance, Deposit Suspended"},
                  {"network": "BSC", "coin": "BTC", "isDefault": false, "depositEnable": false,
                   "withdrawEnable": false}]},
 {"coin": "RUB", "depositAllEnable": false, "withdrawAllEnable": false, "name": "Ruble", "isLegalMoney": true,
  "trading": false, "networkList": []}]"""

# https://www.mexc.com/api-docs/spot-v3/wallet-endpoints#query-the-currency-information (response
# example: EOS's own network takes no withdrawals, its second network does)
MEXC_DOC = b"""[{"coin": "EOS", "Name": "EOS", "networkList": [
  {"coin": "EOS", "depositDesc": null, "depositEnable": true, "minConfirm": 0, "Name": "EOS",
   "network": "EOS",
   "withdrawEnable": false, "withdrawFee": "0.000100000000000000", "withdrawIntegerMultiple": null,
   "withdrawMax": "10000.000000000000000000", "withdrawMin": "0.001000000000000000", "sameAddress": false,
   "contract": "TN3W4H6rK2ce4vX9YnFQHwKENnHjoxbm9",
    "withdrawTips": "Both a MEMO and an Address are required.",
   "depositTips": "Both a MEMO and an Address are required.", "netWork": "EOS"},
  {"coin": "BTC", "depositDesc": null, "depositEnable": true, "minConfirm": 0, "Name": "BTC-BSC",
   "network": "BEP20(BSC)", "withdrawEnable": true, "withdrawFee": "0.000010000000000000",
   "withdrawIntegerMultiple": null, "withdrawMax": "100.000000000000000000",
   "withdrawMin": "0.000100000000000000", "sameAddress": false,
   "contract": "0x7130d2a12b9bcbfae4f2634d864a1ee1ce3ead9c", "withdrawTips": null, "depositTips": null,
   "network": "BTC"}]},
 {"coin": "STEPN", "name": "StepN", "networkList": [
  {"coin": "STEPN", "depositEnable": false, "withdrawEnable": false, "network": "SOL", "netWork": "SOL",
   "minConfirm": "0", "withdrawFee": "1"}]}]"""

# https://www.okx.com/docs-v5/en/#funding-account-rest-api-get-currencies (response example; one row
# per chain: USDT's TRC20 chain closed for withdrawals, its ERC20 chain open; AE is OKX's Aeternity)
OKX_DOC = b"""{"code": "0", "msg": "", "data": [
 {"canDep": true, "canInternal": false, "canWd": true, "ccy": "BTC", "chain": "BTC-Bitcoin",
  "depQuotaFixed": "", "depQuoteDailyLayer2": "", "logoLink": "",
  "mainNet": true, "maxFee": "0.0004", "maxFeeForCtAddr": "", "maxWd": "500", "minDep": "0.00005",
  "minDepArrivalConfirm": "1", "minFee": "0.0002", "minFeeForCtAddr": "", "minInternal": "0.0001",
  "minWd": "0.0005", "minWdUnlockConfirm": "2", "name": "Bitcoin", "needTag": false,
  "usedDepQuotaFixed": "", "usedWdQuota": "0", "wdQuota": "10000000", "wdTickSz": "8"},
 {"canDep": true, "canInternal": true, "canWd": false, "ccy": "USDT", "chain": "USDT-TRC20",
  "mainNet": false},
 {"canDep": false, "canInternal": true, "canWd": true, "ccy": "USDT", "chain": "USDT-ERC20",
  "mainNet": false},
 {"canDep": false, "canInternal": true, "canWd": false, "ccy": "AE", "chain": "AE-Aeternity",
  "mainNet": true}]}"""

# https://bybit-exchange.github.io/docs/v5/asset/coin-info (response example; ETH on two chains, the
# second one's withdrawals suspended; a coin whose only chain is closed both ways)
BYBIT_DOC = b"""{"retCode": 0, "retMsg": "", "result": {"rows": [
 {"name": "ETH", "coin": "ETH", "remainAmount": "1020000", "chains": [
  {"chainType": "ETH", "confirmation": "10000", "withdrawFee": "0.005", "depositMin": "0.01",
   "withdrawMin": "0.02", "chain": "ETH", "chainDeposit": "1", "chainWithdraw": "1", "minAccuracy": "8",
   "withdrawPercentageFee": "0.022", "contractAddress": "", "safeConfirmNumber": "65"},
  {"chainType": "Arbitrum One", "confirmation": "10", "withdrawFee": "0.01", "depositMin": "0.001",
   "withdrawMin": "0.1", "chain": "ARBI", "chainDeposit": "1", "chainWithdraw": "0", "minAccuracy": "8",
   "withdrawPercentageFee": "0", "contractAddress": "", "safeConfirmNumber": "65"}]},
 {"name": "LUNC", "coin": "LUNC", "remainAmount": "0", "chains": [
  {"chainType": "LUNC", "chain": "LUNC", "chainDeposit": "0", "chainWithdraw": "0"}]}]},
 "retExtInfo": {}, "time": 1672194582264}"""


def test_binance_open_when_any_network_is() -> None:
    found = apiv3.decode_coins(BINANCE_DOC, binance.VENUE, binance.SPELLING)
    assert found["1MBABYDOGE"] == TransferStatus("1MBABYDOGE", True, True)
    assert found["BTC"] == TransferStatus("BTC", False, True)  # deposits closed on both networks
    assert found["RUB"].suspended  # no network: it cannot be moved


def test_mexc_open_when_any_network_is_and_renamed_assets_are_common() -> None:
    found = apiv3.decode_coins(MEXC_DOC, mexc.VENUE, mexc.SPELLING)
    assert found["EOS"] == TransferStatus("EOS", True, True)  # its second network takes withdrawals
    assert found["GMT"] == TransferStatus("GMT", False, False)  # MEXC's STEPN is everyone's GMT


def test_okx_one_row_per_chain() -> None:
    found = okx_orders.decode_currencies(OKX_DOC)
    assert found["BTC"] == TransferStatus("BTC", True, True)
    assert found["USDT"] == TransferStatus("USDT", True, True)  # deposits on TRC20, withdrawals on ERC20
    assert found["AET"] == TransferStatus("AET", False, False)  # OKX's AE is Aeternity (AET elsewhere)


def test_bybit_chain_flags_are_strings() -> None:
    result = bybit_codec.decode_envelope(BYBIT_DOC).result
    found = bybit_orders.decode_coins(bytes(result))
    assert found["ETH"] == TransferStatus("ETH", True, True)
    assert found["LUNC"] == TransferStatus("LUNC", False, False)


def test_malformed_payloads_are_decode_errors() -> None:
    from arb.errors import DecodeError

    with pytest.raises(DecodeError):
        apiv3.decode_coins(b'{"coin": 1}', binance.VENUE, binance.SPELLING)
    with pytest.raises(DecodeError):
        okx_orders.decode_currencies(b'{"code": "0", "data": [{"canDep": true}]}')
    with pytest.raises(DecodeError):
        bybit_orders.decode_coins(b'{"rows": [{"chains": []}]}')


# --------------------------------------------------------------------------- against the simulator


@pytest.fixture
async def sim() -> AsyncIterator[SimExchange]:
    exchange = SimExchange(list(VENUES), universe=large_universe(VENUES))
    await exchange.start()
    try:
        yield exchange
    finally:
        await exchange.close()


def _config(sim: SimExchange) -> dict[str, dict[str, str]]:
    return {v: {"rest_url": sim.urls[v][0], "ws_url": sim.urls[v][1]} for v in VENUES}


def _expected(venue: str) -> dict[str, tuple[bool, bool]]:
    """The simulator's table for `venue`, by common names."""
    return {COMMON.get(venue, {}).get(a, a): s for a, s in TRANSFERS.get(venue, {}).items()}


@pytest.mark.parametrize("venue", SIGNED)
async def test_each_private_connector_reads_the_signed_status(sim: SimExchange, venue: str) -> None:
    config = default_config(venues=_config(sim))
    private = make_private(venue, config.venues[venue], sim_credentials([venue])[venue])
    try:
        found = await private.transfer_status()
    finally:
        await private.close()
    assert found is not None
    suspended = {a: (s.deposit, s.withdraw) for a, s in found.items() if s.suspended}
    assert suspended == _expected(venue) and suspended  # one asset each, as the table says
    assert found["USDT"] == TransferStatus("USDT", True, True)  # one of its three chains is closed
    assert all(asset == status.asset for asset, status in found.items())


@pytest.mark.parametrize("venue", SIGNED)
async def test_a_wrong_signature_is_refused(sim: SimExchange, venue: str) -> None:
    config = default_config(venues=_config(sim))
    good = sim_credentials([venue])[venue]
    wrong = Credentials(venue, good.api_key, Secret("not-the-secret"), good.passphrase)
    private = make_private(venue, config.venues[venue], wrong)
    try:
        with pytest.raises(AuthenticationError):
            await private.transfer_status()
    finally:
        await private.close()
    assert sim.traffic[venue].requests > 0  # it reached the simulator, which refused it


async def _discover(sim: SimExchange, keys: dict[str, Credentials]) -> Found:
    return await discover_transfers(_config(sim), VENUES, keys)


async def test_discover_with_without_and_with_wrong_keys(sim: SimExchange) -> None:
    usdt = {Symbol.parse(p.symbol) for p in PAIRS if p.symbol.endswith("/USDT")}
    expected = set()
    for venue in VENUES:
        listed = {Symbol.parse(p.symbol) for p in PAIRS if venue in p.volumes} & usdt
        for asset in _expected(venue):
            expected |= {(venue, s) for s in listed if asset in (s.base, s.quote)}
    known, dropped, _ = await _discover(sim, sim_credentials(list(SIGNED)))
    assert known == dict.fromkeys(VENUES, Transfers.READ)
    assert dropped == expected and {v for v, _ in dropped} == set(VENUES)
    # no keys: the signed venues' status is unknown, so only Gate's suspended listings are dropped
    known, dropped, _ = await _discover(sim, {})
    assert known == {**dict.fromkeys(SIGNED, Transfers.NO_KEYS), "gateio": Transfers.READ}
    assert dropped == {(v, s) for v, s in expected if v == "gateio"}
    # wrong keys: refused by the simulator, said so, the venue's listings kept
    wrong = {v: Credentials(v, Secret("sim-key"), Secret("wrong"), Secret("sim-passphrase")) for v in SIGNED}
    known, dropped, errors = await _discover(sim, wrong)
    assert known == {**dict.fromkeys(SIGNED, Transfers.UNAVAILABLE), "gateio": Transfers.READ}
    assert set(errors) == set(SIGNED) and all("AuthenticationError" in e for e in errors.values())
    assert dropped == {(v, s) for v, s in expected if v == "gateio"}
    assert "wrong" not in msgspec.json.encode(errors).decode()  # the secret is never in a message


WEIGHTS = {  # venue -> (limit rule, endpoint or "", the weight one read costs in the simulator)
    "binance": ("weight", "", 10),  # weight 10 (a SAPI weight; one budget here)
    "mexc": ("endpoint", "GET /api/v3/capital/config/getall", 10),  # weight 10
    "okx": ("endpoint", "GET /api/v5/asset/currencies", 50),  # 6 per second: 50 of 600 per 2 s
    "bybit": ("uid", "GET /v5/asset/coin/query-info", 50),  # 2 per second: 50 of 100 per second
}


@pytest.mark.parametrize("venue", SIGNED)
async def test_the_simulator_charges_each_read_its_documented_weight(sim: SimExchange, venue: str) -> None:
    config = default_config(venues=_config(sim))
    private = make_private(venue, config.venues[venue], sim_credentials([venue])[venue])
    rule, endpoint, weight = WEIGHTS[venue]
    try:
        await private.transfer_status()  # the first also measures the venue clock (GET time)
        before = sim.limiters[venue].used(rule, endpoint=endpoint)
        await private.transfer_status()
        after = sim.limiters[venue].used(rule, endpoint=endpoint)
    finally:
        await private.close()
    assert after - before == weight or after == weight  # (a window may have turned in between)
