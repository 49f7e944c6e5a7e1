# [2] Minimal proto3 wire reader contract (see pbwire.pyx).

from libc.stdint cimport uint64_t


cdef struct Cursor:
    const unsigned char* p    # next byte to read
    const unsigned char* end  # one past the last byte of this message


cdef int _varint(Cursor* c, uint64_t* out) except -1
cdef int _field(Cursor* c, uint64_t* number, int* wire, Cursor* payload, uint64_t* scalar) except -1
cdef double _to_double(const Cursor* s) except? -1.0
cdef int _level(Cursor* item, double* price, double* size) except -1
