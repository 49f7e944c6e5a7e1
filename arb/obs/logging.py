"""Logging setup: console or JSON lines, one logger per module, secrets and signatures redacted.

`configure_logging` installs one handler on the ``arb`` logger with a `RedactingFilter` that
replaces every registered secret value, and anything that looks like a signature or API-key
header/parameter, with ``****`` before a record is formatted. Hot-path code logs at debug only.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

MASK = "****"
# signature=..., SIGN: ..., X-MBX-APIKEY: ..., "apiKey": "..."  (names as the venues spell them)
_SENSITIVE = re.compile(
    r"(?i)(signature|sign|x-mbx-apikey|x-mexc-apikey|apikey|api_key|api_secret|secret|key)"
    r"([\"']?\s*[:=]\s*[\"']?)([^\s&\"',}]+)"
)


class RedactingFilter(logging.Filter):
    """Masks secret values and signature-like fields in a record's final message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets = sorted([*self._secrets, value], key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _SENSITIVE.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, plus venue/symbol when given."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("venue", "symbol"):
            value = getattr(record, key, None)
            if value is not None:
                out[key] = str(value)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at each record (a redirected or replaced stderr is honoured)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(
    level: str = "INFO", fmt: str = "console", secrets: Iterable[str] = (), stream: TextIO | None = None
) -> RedactingFilter:
    """Install the arb log handler (idempotent: replaces a previous one); returns the redactor.

    Records still propagate (already redacted: the filter rewrites them) so a root handler an
    embedding application or a test harness installs sees them too; the root logger has none in
    `arb-engine`, so nothing is printed twice.
    """
    logger = logging.getLogger("arb")
    for old in list(logger.handlers):
        if getattr(old, "_arb", False):
            logger.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler._arb = True  # type: ignore[attr-defined]
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    handler.setFormatter(
        JsonFormatter() if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = True
    return redactor
