"""Signing against the fact sheet's test vectors, and the signers' request shapes."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl

from arb.venues.binance import auth as binance
from arb.venues.gateio import auth as gate
from arb.venues.mexc import auth as mexc

MEXC_SECRET = "45d0b3c26f2644f19bfb98b07741b2f5"
BINANCE_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def test_mexc_vectors_query_only_and_split() -> None:
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
    assert mexc.sign(MEXC_SECRET, query) == "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
    split = mexc.sign(MEXC_SECRET, "symbol=BTCUSDT&side=BUY&type=LIMIT",
                      "quantity=1&price=11&recvWindow=5000&timestamp=1644489390087")
    assert split == "d1a676610ceb39174c8039b3f548357994b2a34139a8addd33baadba65684592"


def test_gate_vectors_and_body_hash() -> None:
    query = "contract=BTC_USD&status=finished&limit=50"
    get = gate.sign("secret", "GET", "/api/v4/futures/orders", query, "", 1541993715)
    assert get == ("55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6fb3faf24deff16790d72"
                   "6b66ac9f74526668b13bd01029199cc4fcc522418b8a")
    body = '{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    assert gate.body_hash(body).startswith("ad3c1692") and gate.body_hash(body).endswith("956cca")
    assert gate.body_hash("").startswith("cf83e135") and gate.body_hash("").endswith("927da3e")
    post = gate.sign("secret", "POST", "/api/v4/futures/orders", "", body, "1541993715")
    assert post == ("eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541fc4c2c14017581b4199a1"
                    "418d54471c269c03a38d788d802e2c306c37636389f0")


def test_binance_rest_and_ws_api_vectors() -> None:
    query = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
             "&timestamp=1499827319559")
    assert binance.sign(BINANCE_SECRET, query) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    params = {
        "symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01000000",
        "price": "52000.00", "recvWindow": "100", "timestamp": "1645423376532",
        "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "signature": "ignored",
    }
    assert binance.sign_ws(BINANCE_SECRET, params) == (
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_signers_put_timestamp_and_signature_where_each_venue_wants_them() -> None:
    params = [("symbol", "BTCUSDT"), ("side", "BUY")]
    signer = binance.BinanceSigner("k", BINANCE_SECRET)
    signed = signer.sign("POST", "/api/v3/order", params, b"", 1700000000000)
    fields = dict(parse_qsl(signed.query))
    assert fields["timestamp"] == "1700000000000" and fields["recvWindow"] == "5000"
    unsigned = signed.query.rsplit("&signature=", 1)[0]
    assert fields["signature"] == binance.sign(BINANCE_SECRET, unsigned)
    assert signed.headers == {"X-MBX-APIKEY": "k"}

    m = mexc.MexcSigner("mk", MEXC_SECRET).sign("GET", "/api/v3/order", params, b"", 1700000000000)
    unsigned = m.query.rsplit("&signature=", 1)[0]
    assert dict(parse_qsl(m.query))["signature"] == mexc.sign(MEXC_SECRET, unsigned)
    assert m.headers["X-MEXC-APIKEY"] == "mk"

    body = b'{"currency_pair":"BTC_USDT"}'
    g = gate.GateSigner("gk", "gs").sign("POST", "/api/v4/spot/orders", [], body, 1700000000999)
    assert g.headers["Timestamp"] == "1700000000" and g.headers["KEY"] == "gk"
    assert g.headers["SIGN"] == gate.sign("gs", "POST", "/api/v4/spot/orders", "", body.decode(), 1700000000)
    assert gate.body_hash(body.decode()) == hashlib.sha512(body).hexdigest()
    auth = gate.GateSigner("gk", "gs").ws_auth("spot.orders", "subscribe", 1700000000)
    assert auth["KEY"] == "gk" and auth["SIGN"] == gate.sign_ws("gs", "spot.orders", "subscribe", 1700000000)


def test_signers_never_show_the_secret() -> None:
    for signer in (binance.BinanceSigner("k", "s3cr3t-x"), mexc.MexcSigner("k", "s3cr3t-x"),
                   gate.GateSigner("k", "s3cr3t-x")):
        assert "s3cr3t-x" not in repr(signer) and "s3cr3t-x" not in str(signer)
