"""Bybit signing against the fact sheet's re-computed test vectors (§2.4), and the signer's shape."""

from __future__ import annotations

import json

from arb.venues.bybit import auth
from arb.venues.bybit.auth import BybitSigner

SECRET = "MY_TEST_SECRET_0123456789abcdef0123"
KEY = "MY_TEST_KEY_XYZ"
POST_BODY = ('{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001",'
             '"price":"30000","timeInForce":"IOC","orderLinkId":"my-ioc-0001"}')


def test_rest_vectors() -> None:
    get = auth.sign_request(SECRET, KEY, 1658384314791, 5000, "category=spot&symbol=BTCUSDT")
    assert get == "445c9cd10ffa7dcd56e0a9cb9487c66ce2f43dc5d17f4e953101f0bbe3507951"
    post = auth.sign_request(SECRET, KEY, "1658385579423", "5000", POST_BODY)
    assert post == "10f0819bea3dd468d03d92d8adec8380b0564a495d0c0ed08e1b99f6ec82e88b"


def test_ws_auth_vector_and_args() -> None:
    assert auth.sign_ws(SECRET, 1662350400000) == (
        "1ddb75025288a87d696a8d52fae8cdf0fefaeaec54e5a90a3eb59fb996367171")
    args = BybitSigner(KEY, SECRET).ws_auth(1662350400000)
    assert args == [KEY, 1662350400000, "1ddb75025288a87d696a8d52fae8cdf0fefaeaec54e5a90a3eb59fb996367171"]
    assert isinstance(args[1], int)  # expires goes out as a JSON number


def test_signer_signs_the_query_it_sends_on_get() -> None:
    signed = BybitSigner(KEY, SECRET).sign("GET", "/v5/order/realtime",
                                           [("category", "spot"), ("symbol", "BTCUSDT")], b"", 1658384314791)
    assert signed.query == "category=spot&symbol=BTCUSDT" and signed.body == b""
    assert signed.headers == {
        "X-BAPI-API-KEY": KEY, "X-BAPI-TIMESTAMP": "1658384314791", "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": "445c9cd10ffa7dcd56e0a9cb9487c66ce2f43dc5d17f4e953101f0bbe3507951",
    }


def test_signer_signs_the_exact_body_on_post() -> None:
    signed = BybitSigner(KEY, SECRET).sign("POST", "/v5/order/create", [], POST_BODY.encode(), 1658385579423)
    assert signed.body == POST_BODY.encode() and signed.query == ""
    assert signed.headers["X-BAPI-SIGN"] == "10f0819bea3dd468d03d92d8adec8380b0564a495d0c0ed08e1b99f6ec82e88b"
    assert signed.headers["Content-Type"] == "application/json"
    # a body re-serialised with other whitespace is another string: its signature differs (10004)
    spaced = json.dumps(json.loads(POST_BODY)).encode()
    resigned = BybitSigner(KEY, SECRET).sign("POST", "/v5/order/create", [], spaced, 1658385579423)
    assert resigned.headers["X-BAPI-SIGN"] != signed.headers["X-BAPI-SIGN"]


def test_awkward_query_values_are_sent_as_signed() -> None:
    signed = BybitSigner(KEY, SECRET).sign("GET", "/v5/account/wallet-balance",
                                           [("accountType", "UNIFIED"), ("coin", "BTC,USDT")], b"", 1)
    assert signed.query == "accountType=UNIFIED&coin=BTC%2CUSDT"
    assert signed.headers["X-BAPI-SIGN"] == auth.sign_request(SECRET, KEY, 1, 5000, signed.query)


def test_repr_hides_the_secret() -> None:
    assert SECRET not in repr(BybitSigner(KEY, SECRET)) and KEY not in repr(BybitSigner(KEY, SECRET))
