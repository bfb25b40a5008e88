"""Logging without secrets: a redaction pass over every log record, and uvicorn's logging config.

Credentials must never reach a log: bearer tokens, `ts_...` API tokens, session cookies, passwords
and TOTP secrets are replaced by [REDACTED] in the message, its arguments and any traceback. The pass
runs in the log-record factory, so it covers records from every logger (a filter on the root logger
alone does not see records propagated from child loggers), and again as a filter on the root and
uvicorn loggers and their handlers. The access log is written without query strings; the service
never logs request bodies or headers.
"""

from __future__ import annotations

import logging
import logging.config
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
# A key whose value is a credential: password, secret, token, session, otp, csrf, api key, cookie...
_KEY = r"[\w.-]*?(?:passw(?:or)?d|passphrase|secret|token|session|otp|csrf|api[_-]?key|cookie)[\w.-]*"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization and Cookie header values, as text ("Authorization: Basic ...") or header reprs.
    (
        re.compile(r"(?i)\b((?:proxy-)?authorization|cookie)([\"']?\s*[:=,]\s*(?:b?[\"'])?)[^\"'\n]+"),
        rf"\1\2{REDACTED}",
    ),
    # Bearer <token> anywhere (a URL-encoded or form-encoded space included).
    (re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[^\s'\",;)\]}]+"), rf"\1\2{REDACTED}"),
    # "password": "hunter2"  /  'totp_secret': 'JBSW...'  (JSON and Python reprs)
    (
        re.compile(rf"(?i)([\"'])({_KEY})\1(\s*:\s*)([\"'])(?:\\.|(?!\4).)*\4"),
        rf"\1\2\1\3\4{REDACTED}\4",
    ),
    # password=hunter2, token=ts_..., ts_session=..., secret: ..., in queries, forms, cookies and text.
    (
        re.compile(
            rf"(?i)\b({_KEY})(\s*[:=]\s*)(?!\[REDACTED\])(?:([\"'])(?:\\.|(?!\3).)*\3|[^\s&;,'\"}})\]]+)"
        ),
        rf"\1\2{REDACTED}",
    ),
    # API tokens wherever they appear on their own.
    (re.compile(r"\bts_[A-Za-z0-9_-]{10,}"), f"ts_{REDACTED}"),
    # Base32 TOTP secrets (16+ characters of A-Z and 2-7, at least one digit).
    (re.compile(r"\b(?=[A-Z2-7]*[2-7])[A-Z2-7]{16,}\b"), REDACTED),
)
_ACCESS_LOGGER = "uvicorn.access"
_DONE = "_townsquare_redacted"


def redact(text: str) -> str:
    """`text` with every credential the patterns recognise replaced by [REDACTED]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float | bool):
        return value
    text = str(value)
    clean = redact(text)
    return value if clean == text else clean


def _strip_query(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """uvicorn's access args are (client, method, full_path, http_version, status): drop the query."""
    if len(args) == 5 and isinstance(args[2], str):
        return (args[0], args[1], args[2].split("?", 1)[0], *args[3:])
    return args


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact `record` in place (message, arguments, traceback, stack); idempotent."""
    if getattr(record, _DONE, False):
        return record
    setattr(record, _DONE, True)
    args = record.args
    if isinstance(record.msg, str) and not args:
        record.msg = redact(record.msg)  # with arguments, the format is redacted once joined, below
    if isinstance(args, tuple):
        if record.name == _ACCESS_LOGGER:
            args = _strip_query(args)
        record.args = tuple(_redact_value(a) for a in args)
    elif isinstance(args, Mapping):
        record.args = {k: _redact_value(v) for k, v in args.items()}
    if record.name != _ACCESS_LOGGER:
        _redact_joined(record)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _redact_joined(record: logging.LogRecord) -> None:
    """A secret split between format and argument ("password=%s", pw) shows only once joined."""
    if not record.args:
        return
    try:
        joined = record.getMessage()
    except Exception:  # a malformed call: logging reports it; leave the record as it is
        return
    clean = redact(joined)
    if clean != joined:
        record.msg, record.args = clean, None


class RedactFilter(logging.Filter):
    """A logging filter that redacts credentials from every record it sees (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact `record` in place and let it through."""
        redact_record(record)
        return True


_lock = threading.Lock()
_factory_installed = False
_FILTERED_LOGGERS = ("", "uvicorn", "uvicorn.error", _ACCESS_LOGGER)


def _add_filter(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactFilter) for f in target.filters):
        target.addFilter(RedactFilter())


def install_redaction() -> None:
    """Redact every log record from now on (record factory + filters); safe to call repeatedly."""
    global _factory_installed
    with _lock:
        if not _factory_installed:
            previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                return redact_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True
        for name in _FILTERED_LOGGERS:
            logger = logging.getLogger(name)
            _add_filter(logger)
            for handler in logger.handlers:
                _add_filter(handler)


ACCESS_FORMAT = '%(asctime)s %(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
DEFAULT_FORMAT = "%(asctime)s %(levelprefix)s %(name)s: %(message)s"


def uvicorn_log_config(level: str = "warning") -> dict[str, Any]:
    """A logging dictConfig for uvicorn: redaction filters on every handler, access lines without queries."""
    level = level.upper()
    redact_filter = {"redact": {"()": "townsquare.logging_setup.RedactFilter"}}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": redact_filter,
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": DEFAULT_FORMAT, "use_colors": None},
            "access": {"()": "uvicorn.logging.AccessFormatter", "fmt": ACCESS_FORMAT, "use_colors": None},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["redact"],
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"handlers": ["default"], "level": level, "filters": ["redact"]},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True, "filters": ["redact"]},
            "uvicorn.error": {"level": level, "filters": ["redact"]},
            _ACCESS_LOGGER: {
                "handlers": ["access"],
                "level": level,
                "propagate": False,
                "filters": ["redact"],
            },
        },
    }


def configure_logging(level: str = "warning") -> dict[str, Any]:
    """Configure process logging for the service; returns the dictConfig to hand to uvicorn."""
    config = uvicorn_log_config(level)
    logging.config.dictConfig(config)
    install_redaction()
    return config
