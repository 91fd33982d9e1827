"""No query string in any log line of the web server, including aiohttp's own.

HAS's clients put secrets in URLs (``conf/configkdcbackend?password=``,
``PUT /has/v1?authToken=``). has-kdc's own lines name the path only, but aiohttp logs
a request it cannot parse (a request line over its 8 KiB limit, a bad method or
header) with the raw bytes of the line, query string included, and a traceback of
twenty-odd lines: a secret in the log, and a log that grows by a screen per bad
request.

`QueryRedactor` is a logging filter installed on aiohttp's loggers and on has-kdc's
web loggers (`install`). It replaces every ``?query`` in the message and in the
exception text by ``?<redacted>``, and turns aiohttp's "cannot parse this request"
errors into one line without traceback: the client's address and the kind of error.
"""

from __future__ import annotations

import logging
import re
import traceback

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["LOGGERS", "REDACTED", "QueryRedactor", "install", "redact_queries"]

REDACTED = "?<redacted>"
#: A '?' followed by anything up to a space, quote or bracket: a URL's query string,
#: also as Python shows it in a bytes repr (b'/x?password=...').
_QUERY = re.compile(r"\?[^\s'\"<>]+")

#: The loggers whose records can carry a request line or URL.
LOGGERS = (
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.internal",
    "has_kdc.web",
    "has_kdc.web.access",
    "has_kdc.web.negotiate",
)


def redact_queries(text: str) -> str:
    return _QUERY.sub(REDACTED, text)


class QueryRedactor(logging.Filter):
    """Rewrites records so that no query string is left (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format
            message = str(record.msg)
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            # aiohttp could not parse a request: one line, no traceback, no bytes.
            record.levelno, record.levelname = logging.INFO, "INFO"
            message = f"{message.splitlines()[0]}: {type(exc).__name__} ({exc.code})"
            record.exc_info, record.exc_text = None, None
        elif record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            message = f"{message}\n{text}"
            record.exc_info, record.exc_text = None, None
        if record.stack_info:
            message = f"{message}\n{record.stack_info}"
            record.stack_info = None
        record.msg, record.args = redact_queries(message), ()
        return True


_FILTER = QueryRedactor()


def install(names: tuple[str, ...] = LOGGERS) -> None:
    """Put the filter on ``names`` (once each)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryRedactor) for f in logger.filters):
            logger.addFilter(_FILTER)
