# Shared typedefs for the Cython core (cimported by book and spread).

ctypedef double price_t   # price in quote currency per unit of base
ctypedef double qty_t     # quantity in base currency
ctypedef long long int64_t_  # venue update ids and nanosecond timestamps
