"""OKX signing against the fact sheet's re-computed test vectors (secret from OKX's docs)."""

from __future__ import annotations

import json
from pathlib import Path

from arb.credentials import Credentials, Secret
from arb.venues.okx import auth

SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
TS = "2020-12-08T09:08:57.715Z"
TS_MS = 1607418537715


def test_vectors(samples_dir: Path) -> None:
    assert auth.sign(SECRET, f"{TS}GET/api/v5/account/balance?ccy=BTC") == \
        "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    body = (samples_dir / "okx/rest_place_order_request_body_docs.json").read_text()
    compact = json.dumps(json.loads(body), separators=(",", ":"))
    assert auth.sign_request(SECRET, TS, "post", "/api/v5/trade/order", compact) == \
        "dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ="
    assert auth.sign_login(SECRET, 1538054050) == "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="


def test_timestamps_always_carry_three_millisecond_digits() -> None:
    assert auth.iso_timestamp(TS_MS) == TS
    assert auth.iso_timestamp(TS_MS - 715) == "2020-12-08T09:08:57.000Z"
    assert auth.iso_timestamp(TS_MS - 705) == "2020-12-08T09:08:57.010Z"


def test_signer_signs_the_query_it_sends() -> None:
    signer = auth.signer(Credentials("okx", Secret("key-1"), Secret(SECRET), Secret("phrase")))
    req = signer.sign("GET", "/api/v5/account/balance", [("ccy", "BTC")], b"", TS_MS)
    assert req.query == "ccy=BTC" and req.body == b""
    assert req.headers["OK-ACCESS-SIGN"] == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    assert req.headers["OK-ACCESS-TIMESTAMP"] == TS
    assert req.headers["OK-ACCESS-KEY"] == "key-1" and req.headers["OK-ACCESS-PASSPHRASE"] == "phrase"
    posted = signer.sign("POST", "/api/v5/trade/order", [], b'{"instId":"BTC-USDT"}', TS_MS)
    prehash = f'{TS}POST/api/v5/trade/order{{"instId":"BTC-USDT"}}'
    assert posted.headers["OK-ACCESS-SIGN"] == auth.sign(SECRET, prehash)
    login = signer.login_args(1538054050)
    assert login == {"apiKey": "key-1", "passphrase": "phrase", "timestamp": "1538054050",
                     "sign": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="}
    assert "phrase" not in repr(signer) and SECRET not in repr(signer)
