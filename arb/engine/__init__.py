"""The engine: book sync, detection, risk, execution, order tracking, journal (stages [3]-[8])."""
