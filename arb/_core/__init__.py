"""The Cython core: typed L2 books and the cross-venue spread kernel (no I/O, no logging)."""
