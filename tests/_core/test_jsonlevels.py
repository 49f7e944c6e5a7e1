"""`arb._core.jsonlevels.read_levels`: JSON level arrays straight into double buffers. Every decimal reads
as exactly what `float()` gives (the fast path's exact products and quotients, and `strtod` beyond
it); what is not a plain decimal, a level without a size, or a number no book holds is a
`ValueError`; and no input, however cut or mangled, is read past its end or raises anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arb._core.jsonlevels import read_levels

# plain decimals as venues print them, and the corners of the fast path (2**53, 10**22, long digits)
DECIMALS = st.one_of(
    st.decimals(min_value=0, max_value=10**12, allow_nan=False, allow_infinity=False, places=8).map(str),
    st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False).map(repr),
    st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False).map(lambda f: f"{f:.17e}"),
    st.integers(min_value=0, max_value=10**30).map(str),
    st.tuples(st.integers(0, 10**25), st.integers(0, 30)).map(lambda t: f"{t[0]}e-{t[1]}"),
    st.tuples(st.integers(0, 10**18), st.integers(0, 25)).map(lambda t: f"0.{'0' * t[1]}{t[0]}"),
    st.sampled_from(["9007199254740992", "9007199254740993", "1e22", "1e23", "0.1", "0.3", "1e-22", "1e-23",
                     "123456789012345678901234567890.5", "4.9e-324", "1.7976931348623157e308", "0", "0.0",
                     ".5", "5.", "1E5", "1e+5", "+1", "00012.500"]),
)


def _levels(rows: list[list[str]]) -> bytes:
    return json.dumps(rows).encode()


@settings(max_examples=3000, deadline=None)
@given(DECIMALS, DECIMALS)
def test_every_plain_decimal_reads_as_float_does(price: str, size: str) -> None:
    expected_price, expected_size = float(price), float(size)
    raw = _levels([[f"{price}", size, "0", "12"]])
    if not 0 < expected_price < float("inf") or not expected_size < float("inf"):
        with pytest.raises(ValueError, match="price must be finite"):
            read_levels(raw)
        return
    prices, sizes = read_levels(raw)
    assert (list(prices), list(sizes)) == ([expected_price], [expected_size])


def test_levels_shapes_and_refusals() -> None:
    prices, sizes = read_levels(b' [ ["30000.1" , "0.5", "0", "2"],[30000, 0 ,"0","0"], ["1e1","2E-1"] ] ')
    assert (list(prices), list(sizes)) == ([30000.1, 30000.0, 10.0], [0.5, 0.0, 0.2])
    assert [list(b) for b in read_levels(b"[]")] == [[], []]
    assert list(read_levels(b'[["1", "-0"]]')[1]) == [0.0]  # a delete
    assert list(read_levels(memoryview(b'[["2", "1", "a\\"]", null, true]]'))[0]) == [2.0]
    for raw, reason in [
        (b'[["NaN", "1"]]', "not a plain decimal"), (b'[["Infinity", "1"]]', "not a plain decimal"),
        (b'[["inf", "1"]]', "not a plain decimal"), (b'[["0x10", "1"]]', "not a plain decimal"),
        (b'[[" 1", "1"]]', "not a plain decimal"), (b'[["", "1"]]', "not a plain decimal"),
        (b'[["1-2", "1"]]', "not a number"), (b'[["1e", "1"]]', "not a number"),
        (b'[[".", "1"]]', "not a number"),
        (b'[["1e999", "1"]]', "price must be finite"), (b'[["0", "1"]]', "price must be finite"),
        (b'[["-1", "1"]]', "price must be finite"), (b'[["1", "-0.5"]]', "price must be finite"),
        (b'[["1"]]', "needs a size"), (b"[[]]", "not a plain decimal"), (b"{}", "start of the levels"),
        (b'[["1", "1"],]', "start of a level"), (b'[["1", "1"]] x', "trailing"), (b"", "start of the levels"),
        (b'[["1", "1", [2]]]', "not a string or a number"), (b'[["1", "1", "open', "unterminated"),
        (b'[["1", "1"]', "end of the levels"), (b'[["1", "1"', "end of a level"),
        (b'[["' + b"1" * 64 + b'", "1"]]', "length 64"),
    ]:
        with pytest.raises(ValueError, match=reason):
            read_levels(raw)


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=80) | st.text(alphabet='[]",0123456789.eE-+ nul\\x', max_size=60).map(str.encode))
def test_any_input_is_levels_or_a_value_error(raw: bytes) -> None:
    try:
        prices, sizes = read_levels(raw)
    except ValueError:
        return
    assert len(prices) == len(sizes) and all(p > 0 for p in prices) and all(s >= 0 for s in sizes)
