"""WsClient's two hooks for record/replay: `tap` sees every data frame first; `offline` never connects."""

from __future__ import annotations

from collections.abc import Sequence

from arb.net.ws import WsClient


class _Dialect:
    def subscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        raise AssertionError("an offline client sends nothing")

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        return None

    def ack(self, frame: str) -> int | None:
        return None

    def is_control(self, frame: bytes | str) -> bool:
        return False

    def ping(self) -> str | None:
        return None


async def test_offline_client_notes_subscriptions_and_feeds_frames_through_the_tap() -> None:
    seen: list[tuple[str, bytes | str, int]] = []
    ws = WsClient("t", "ws://192.0.2.1:9/never", dialect=_Dialect(), offline=True,
                  on_frame=lambda f, ns: seen.append(("handler", f, ns)),
                  tap=lambda f, ns: seen.append(("tap", f, ns)))
    await ws.subscribe(["a", "b"])
    await ws.subscribe(["b", "c"])
    assert ws.channels == ["a", "b", "c"] and ws.connections[0].connects == 0
    ws.feed(b"\x01", 7)
    ws.feed("{}", 8)
    assert seen == [("tap", b"\x01", 7), ("handler", b"\x01", 7), ("tap", "{}", 8), ("handler", "{}", 8)]
    await ws.unsubscribe(["a"])
    assert ws.channels == ["b", "c"]
    await ws.close()
