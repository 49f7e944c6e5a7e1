from __future__ import annotations

import io
import json
import logging

from arb.obs.logging import configure_logging

CANARY = "canary-secret-41f0"


def test_secrets_and_signatures_are_redacted_in_console_and_json() -> None:
    for fmt in ("console", "json"):
        out = io.StringIO()
        configure_logging("DEBUG", fmt, secrets=[CANARY], stream=out)
        log = logging.getLogger("arb.test")
        log.info("signing with %s", CANARY)
        log.warning("GET /api/v3/order?symbol=BTCUSDT&timestamp=1&signature=abcdef0123")
        log.error("headers {'KEY': 'k-123', 'SIGN': 'deadbeef'}")
        try:
            raise ValueError(f"bad key {CANARY}")
        except ValueError:
            log.exception("boom")
        text = out.getvalue()
        assert CANARY not in text and "abcdef0123" not in text and "deadbeef" not in text
        assert "k-123" not in text and "****" in text
        if fmt == "json":
            lines = [json.loads(line) for line in text.splitlines()]
            assert lines[0]["logger"] == "arb.test" and lines[0]["level"] == "INFO"


def test_venue_and_symbol_extras_in_json() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("arb.x").info("synced", extra={"venue": "mexc", "symbol": "BTC/USDT"})
    record = json.loads(out.getvalue())
    assert (record["venue"], record["symbol"], record["msg"]) == ("mexc", "BTC/USDT", "synced")
