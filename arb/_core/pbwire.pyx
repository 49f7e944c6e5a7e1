"""[2] A minimal proto3 wire reader for depth pushes, straight into double buffers.

MEXC pushes depth as a protobuf wrapper whose body holds repeated ``{price: string, quantity:
string}`` items. The generated classes build a Python object and a Python `float` per level; this
reader walks the wire format once, converts each decimal string with `strtod` and writes the
doubles into `array('d')` buffers for `L2Book.apply_levels`. Field numbers are arguments (the venue
codec owns its schema); unknown fields of every wire type are skipped, as proto3 requires.
"""

from cpython.array cimport array, clone
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport strtod, strtoll
from libc.string cimport memcpy

cdef array _DOUBLES = array("d")

cdef enum:
    _VARINT = 0
    _FIXED64 = 1
    _LEN = 2
    _FIXED32 = 5
    _NUMBER_MAX = 63  # longest decimal string accepted for a price/quantity/version


cdef int _varint(Cursor* c, uint64_t* out) except -1:
    cdef uint64_t value = 0
    cdef int shift = 0
    cdef unsigned char byte
    while True:
        if c.p >= c.end or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = c.p[0]
        c.p += 1
        value |= (<uint64_t>(byte & 0x7F)) << shift
        if byte < 0x80:
            out[0] = value
            return 0
        shift += 7


cdef int _field(Cursor* c, uint64_t* number, int* wire, Cursor* payload, uint64_t* scalar) except -1:
    """Read one field header and its value: a length-delimited payload or a scalar."""
    cdef uint64_t key, length
    _varint(c, &key)
    number[0] = key >> 3
    wire[0] = key & 7
    if wire[0] == _VARINT:
        _varint(c, scalar)
    elif wire[0] == _LEN:
        _varint(c, &length)
        if length > <uint64_t>(c.end - c.p):
            raise ValueError("length-delimited field runs past the end of the frame")
        payload.p = c.p
        payload.end = c.p + length
        c.p += length
    elif wire[0] == _FIXED64:
        if c.end - c.p < 8:
            raise ValueError("truncated fixed64")
        c.p += 8
    elif wire[0] == _FIXED32:
        if c.end - c.p < 4:
            raise ValueError("truncated fixed32")
        c.p += 4
    else:
        raise ValueError(f"unsupported wire type {wire[0]}")
    return 0


cdef double _to_double(const Cursor* s) except? -1.0:
    cdef char buf[_NUMBER_MAX + 1]
    cdef Py_ssize_t n = s.end - s.p
    cdef char* endp
    if n <= 0 or n > _NUMBER_MAX:
        raise ValueError(f"bad decimal string of length {n}")
    memcpy(buf, s.p, n)
    buf[n] = 0
    cdef double value = strtod(buf, &endp)
    if endp != buf + n:
        raise ValueError(f"not a number: {bytes(buf[:n])!r}")
    return value


cdef int64_t _to_int(const Cursor* s) except? -1:
    cdef char buf[_NUMBER_MAX + 1]
    cdef Py_ssize_t n = s.end - s.p
    cdef char* endp
    if n <= 0 or n > _NUMBER_MAX:
        raise ValueError(f"bad integer string of length {n}")
    memcpy(buf, s.p, n)
    buf[n] = 0
    cdef int64_t value = strtoll(buf, &endp, 10)
    if endp != buf + n:
        raise ValueError(f"not an integer: {bytes(buf[:n])!r}")
    return value


cdef int _level(Cursor* item, double* price, double* size) except -1:
    cdef uint64_t number, scalar
    cdef int wire
    cdef Cursor value
    cdef bint has_price = False, has_size = False
    while item.p < item.end:
        _field(item, &number, &wire, &value, &scalar)
        if wire != _LEN:
            continue
        if number == 1:
            price[0] = _to_double(&value)
            has_price = True
        elif number == 2:
            size[0] = _to_double(&value)
            has_size = True
    if not (has_price and has_size):
        raise ValueError("depth level without price or quantity")
    return 0


def read_depth_push(bytes frame, int body_field, int asks_field, int bids_field, int first_field,
                    int last_field):
    """Parse a wrapper frame whose field `body_field` holds a depth body.

    Returns ``(channel, symbol, send_time_ms, first_id, last_id, bid_prices, bid_sizes, ask_prices,
    ask_sizes)`` with the buffers as `array('d')`; ``first_id`` / ``last_id`` come from decimal
    string fields (``last_field`` 0: the same as the first). Raises ValueError on malformed input
    or when the body field is absent.
    """
    cdef Cursor top, body, value, scan
    cdef const unsigned char* data = frame
    top.p = data
    top.end = data + len(frame)
    cdef uint64_t number, scalar
    cdef int wire
    cdef object symbol = ""
    cdef object channel = ""
    cdef int64_t send_time = 0
    cdef bint found = False
    while top.p < top.end:
        _field(&top, &number, &wire, &value, &scalar)
        if number == 1 and wire == _LEN:
            channel = (<const char*>value.p)[:value.end - value.p].decode("utf-8")
        elif number == 3 and wire == _LEN:
            symbol = (<const char*>value.p)[:value.end - value.p].decode("utf-8")
        elif number == 6 and wire == _VARINT:
            send_time = <int64_t>scalar
        elif number == <uint64_t>body_field and wire == _LEN:
            body = value
            found = True
    if not found:
        raise ValueError(f"frame has no field {body_field}")
    # pass 1: count levels and read the version strings
    cdef Py_ssize_t n_asks = 0, n_bids = 0
    cdef int64_t first = 0, last = 0
    cdef bint has_first = False, has_last = False
    scan = body
    while scan.p < scan.end:
        _field(&scan, &number, &wire, &value, &scalar)
        if wire != _LEN:
            continue
        if number == <uint64_t>asks_field:
            n_asks += 1
        elif number == <uint64_t>bids_field:
            n_bids += 1
        elif number == <uint64_t>first_field:
            first = _to_int(&value)
            has_first = True
        elif last_field and number == <uint64_t>last_field:
            last = _to_int(&value)
            has_last = True
    if not has_first:
        raise ValueError(f"depth body has no version field {first_field}")
    if not last_field:
        last = first
    elif not has_last:
        raise ValueError(f"depth body has no version field {last_field}")
    # pass 2: fill the buffers
    cdef array ask_prices = clone(_DOUBLES, n_asks, False)
    cdef array ask_sizes = clone(_DOUBLES, n_asks, False)
    cdef array bid_prices = clone(_DOUBLES, n_bids, False)
    cdef array bid_sizes = clone(_DOUBLES, n_bids, False)
    cdef Py_ssize_t ia = 0, ib = 0
    scan = body
    while scan.p < scan.end:
        _field(&scan, &number, &wire, &value, &scalar)
        if wire != _LEN:
            continue
        if number == <uint64_t>asks_field:
            _level(&value, &ask_prices.data.as_doubles[ia], &ask_sizes.data.as_doubles[ia])
            ia += 1
        elif number == <uint64_t>bids_field:
            _level(&value, &bid_prices.data.as_doubles[ib], &bid_sizes.data.as_doubles[ib])
            ib += 1
    return channel, symbol, send_time, first, last, bid_prices, bid_sizes, ask_prices, ask_sizes
