"""[2] JSON depth levels straight into double buffers: ``[["30000.1", "0.5", "0", "2"], ...]`` -> prices, sizes.

OKX sends each level as an array of four strings (price, size, a deprecated "0", the order count).
A typed JSON decoder builds a list and four Python floats per level before the buffers can be
filled; this reader walks the raw array once (the caller's decoder has already checked it is valid
JSON, e.g. as a `msgspec.Raw` field), converts the first two elements with `strtod` and writes them
into `array('d')` buffers for `L2Book.apply_levels`. Elements after the size are skipped.

Anything else is a `ValueError`: not an array of arrays, a level without a size, a price or size that
is not a plain decimal (a JSON string of ``0-9 + - . e E`` or a bare JSON number: no ``NaN``,
``Infinity``, hex or padding), a price that is not finite and > 0, or a size that is not finite and
>= 0. The reader never reads outside the given bytes.
"""

from cpython.array cimport array, clone, resize
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport uint64_t
from libc.stdlib cimport strtod
from libc.string cimport memcpy

cdef array _DOUBLES = array("d")
cdef double _INF = float("inf")
# powers of ten exactly representable as doubles: the fast path's divisors and multipliers
cdef double[23] _POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
                          1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
cdef uint64_t _EXACT = 1ULL << 53  # integers up to this are exact doubles

cdef enum:
    _NUMBER_MAX = 63  # longest decimal accepted for a price or size
    _QUOTE = 34  # "
    _BACKSLASH = 92
    _COMMA = 44
    _OPEN = 91  # [
    _CLOSE = 93  # ]


cdef inline const unsigned char* _ws(const unsigned char* p, const unsigned char* end) noexcept nogil:
    while p < end and (p[0] == 32 or p[0] == 10 or p[0] == 13 or p[0] == 9):
        p += 1
    return p


cdef inline bint _numeric(unsigned char ch) noexcept nogil:
    return (48 <= ch <= 57) or ch == 46 or ch == 45 or ch == 43 or ch == 101 or ch == 69  # 0-9 . - + e E


cdef const unsigned char* _expect(const unsigned char* p, const unsigned char* end, unsigned char ch,
                                  const char* what, Py_ssize_t level) except NULL:
    p = _ws(p, end)
    if p >= end or p[0] != ch:
        raise ValueError(f"expected {chr(ch)!r} ({what.decode()}, level {level})")
    return _ws(p + 1, end)


cdef bint _decimal(const unsigned char* p, const unsigned char* end, double* out) noexcept nogil:
    """`p`..`end` as ``[+-]digits[.digits][(e|E)[+-]digits]`` (a digit before or after the point) into
    `out`, correctly rounded; False if it is not one. Mantissas up to 2**53 with a power of ten up
    to 22 are one exact IEEE multiplication or division (Clinger's fast path: the result is the
    correctly rounded value, as `float()` gives); other decimals go to `strtod`."""
    cdef const unsigned char* start = p
    cdef bint negative = False, exp_negative = False
    cdef uint64_t mantissa = 0
    cdef int scale = 0, exponent = 0, digits = 0, exp_digits = 0
    cdef bint exact = True
    cdef char buf[_NUMBER_MAX + 1]
    cdef double value
    if p < end and (p[0] == 45 or p[0] == 43):
        negative = p[0] == 45
        p += 1
    while p < end and 48 <= p[0] <= 57:
        if mantissa > 1844674407370955160ULL:  # would overflow: leave it to strtod
            exact = False
        else:
            mantissa = mantissa * 10 + (p[0] - 48)
        digits += 1
        p += 1
    if p < end and p[0] == 46:
        p += 1
        while p < end and 48 <= p[0] <= 57:
            if mantissa > 1844674407370955160ULL:
                exact = False
            else:
                mantissa = mantissa * 10 + (p[0] - 48)
                scale += 1
            digits += 1
            p += 1
    if digits == 0:
        return False
    if p < end and (p[0] == 101 or p[0] == 69):
        p += 1
        if p < end and (p[0] == 45 or p[0] == 43):
            exp_negative = p[0] == 45
            p += 1
        while p < end and 48 <= p[0] <= 57:
            if exponent < 100000:
                exponent = exponent * 10 + (p[0] - 48)
            exp_digits += 1
            p += 1
        if exp_digits == 0:
            return False
    if p != end:
        return False
    exponent = (-exponent if exp_negative else exponent) - scale
    if exact and mantissa <= _EXACT and -22 <= exponent <= 22:
        value = <double>mantissa
        value = value * _POW10[exponent] if exponent >= 0 else value / _POW10[-exponent]
    else:
        memcpy(buf, start, end - start)
        buf[end - start] = 0
        value = strtod(buf, NULL)
    out[0] = -value if negative else value
    return True


cdef const unsigned char* _number(const unsigned char* p, const unsigned char* end, double* out,
                                  const char* what, Py_ssize_t level) except NULL:
    """A decimal as a JSON string or a bare JSON number at `p` -> `out`; the position after it."""
    cdef bint quoted = p < end and p[0] == _QUOTE
    cdef const unsigned char* start
    cdef Py_ssize_t n
    if quoted:
        p += 1
    start = p
    while p < end and _numeric(p[0]):
        p += 1
    n = p - start
    if quoted:
        if p >= end or p[0] != _QUOTE:
            raise ValueError(f"level {level}: the {what.decode()} is not a plain decimal")
        p += 1
    if n == 0 or n > _NUMBER_MAX:
        raise ValueError(f"level {level}: the {what.decode()} is not a plain decimal (length {n})")
    if not _decimal(start, start + n, out):
        raise ValueError(f"level {level}: the {what.decode()} is not a number: {bytes(start[:n])!r}")
    return p


cdef const unsigned char* _skip(const unsigned char* p, const unsigned char* end) except NULL:
    """Skip one scalar JSON value: a string, a number, true, false or null."""
    cdef const unsigned char* start = p
    if p < end and p[0] == _QUOTE:
        p += 1
        while p < end and p[0] != _QUOTE:
            if p[0] == _BACKSLASH and p + 1 < end:
                p += 1
            p += 1
        if p >= end:
            raise ValueError("unterminated string in a level")
        return p + 1
    while p < end and (_numeric(p[0]) or 97 <= p[0] <= 122):  # numbers and true / false / null
        p += 1
    if p == start:
        raise ValueError("a level element is not a string or a number")
    return p


cdef tuple _read(const unsigned char* p, const unsigned char* end):
    cdef Py_ssize_t cap = (end - p) // 5 + 1  # a level takes at least 5 bytes: [1,1]
    cdef array prices = clone(_DOUBLES, cap, False)
    cdef array sizes = clone(_DOUBLES, cap, False)
    cdef Py_ssize_t n = 0
    cdef double price, size
    p = _expect(p, end, _OPEN, b"start of the levels", 0)
    if p < end and p[0] == _CLOSE:
        p += 1
    else:
        while True:
            p = _expect(p, end, _OPEN, b"start of a level", n)
            p = _number(p, end, &price, b"price", n)
            p = _expect(p, end, _COMMA, b"a level needs a size", n)
            p = _number(p, end, &size, b"size", n)
            p = _ws(p, end)
            while p < end and p[0] == _COMMA:
                p = _skip(_ws(p + 1, end), end)
                p = _ws(p, end)
            p = _expect(p, end, _CLOSE, b"end of a level", n)
            if not (price > 0.0 and price < _INF and size >= 0.0 and size < _INF):  # NaN fails too
                raise ValueError(f"level {n} ({price!r}, {size!r}): price must be finite and > 0, size "
                                 "finite and >= 0")
            if n >= cap:  # cannot happen for valid JSON (5 bytes a level); kept for any input
                raise ValueError("more levels than bytes allow")
            prices.data.as_doubles[n] = price
            sizes.data.as_doubles[n] = size
            n += 1
            if p < end and p[0] == _COMMA:
                p += 1
                continue
            p = _expect(p, end, _CLOSE, b"end of the levels", n)
            break
    if _ws(p, end) != end:
        raise ValueError("trailing bytes after the levels")
    resize(prices, n)
    resize(sizes, n)
    return prices, sizes


def read_levels(object raw):
    """The JSON array of levels in `raw` (any bytes-like object, e.g. a `msgspec.Raw`) ->
    ``(array('d') prices, array('d') sizes)``; malformed levels are a `ValueError` (module doc)."""
    cdef Py_buffer view
    PyObject_GetBuffer(raw, &view, PyBUF_SIMPLE)
    try:
        return _read(<const unsigned char*>view.buf, <const unsigned char*>view.buf + view.len)
    finally:
        PyBuffer_Release(&view)
