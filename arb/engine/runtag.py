"""Run tags: the prefix of a run's opportunity and client ids, unique per data dir and per process
of a cluster trading one account."""

from __future__ import annotations

import hashlib

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def run_tag(run_id: int, now_ns: int, instance: str = "") -> str:
    """The prefix of this run's opportunity and client ids: the journal's run counter (unique per
    data dir, same second included), the start second in base 36 and, for one of several processes
    trading one account (cluster workers, which may start in the same second), 3 base-36 characters
    of its name: e.g. ``7-tk2m9x-`` or ``7-tk2m9xq3f-``, inside every venue's client id limit."""
    seconds, digits = now_ns // 1_000_000_000, ""
    while seconds:
        seconds, digit = divmod(seconds, 36)
        digits = BASE36[digit] + digits
    return f"{run_id}-{digits or '0'}{instance_salt(instance)}-"


def instance_salt(instance: str) -> str:
    """The 3 base-36 characters of `instance`'s name in its run tag ("" without a name)."""
    number, salt = int.from_bytes(hashlib.sha256(instance.encode()).digest()[:4], "big"), ""
    for _ in range(3 if instance else 0):
        number, digit = divmod(number, 36)
        salt += BASE36[digit]
    return salt
