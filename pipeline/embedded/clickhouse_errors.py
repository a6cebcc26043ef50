"""Errors of the embedded ClickHouse server, answered the way ClickHouse answers them.

:class:`ClickHouseError` carries ClickHouse's numeric code and symbolic name and maps to the
HTTP status ClickHouse gives that error (``HTTP_STATUS_BY_ERROR``); errors raised by chDB are
wrapped with their own code and text (:meth:`ClickHouseError.from_engine`).
"""

from __future__ import annotations

import re

# ClickHouse's exceptionCodeToHTTPStatus, by the error's symbolic name (chDB reports it in the message)
HTTP_STATUS_BY_ERROR = {
    **dict.fromkeys(("REQUIRED_PASSWORD",), 401),
    **dict.fromkeys(("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"), 403),
    **dict.fromkeys(
        (
            "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
            "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "CANNOT_SCHEDULE_TASK": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

_ERROR_CODE_RE = re.compile(r"Code: (\d+)\. DB::Exception: ")
_ERROR_NAME_RE = re.compile(r"\(([A-Z][A-Z0-9_]+)\)(?: \(version [^)]*\))?\s*$")


class ClickHouseError(Exception):
    """An error answered the way ClickHouse answers it: a code, a symbolic name, a message."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__(message)
        self.code = code
        self.name = name

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_ERROR.get(self.name, 500)

    def body(self) -> bytes:
        text = str(self)
        if not text.startswith("Code: "):
            text = f"Code: {self.code}. DB::Exception: {text}. ({self.name})"
        return (text.rstrip() + "\n").encode("utf-8", "replace")

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Wrap an exception raised by chDB, keeping the engine's own code, name and text."""
        text = str(exc)
        match = _ERROR_CODE_RE.search(text)
        if not match:
            return cls(1001, "STD_EXCEPTION", f"Code: 1001. DB::Exception: {text}. (STD_EXCEPTION)")
        message = text[match.start():]  # drop chDB's Python-side prefixes ("Streaming insert finish failed: ")
        name = _ERROR_NAME_RE.search(message)
        return cls(int(match.group(1)), name.group(1) if name else "UNKNOWN_EXCEPTION", message)


def syntax_error(message: str) -> ClickHouseError:
    return ClickHouseError(62, "SYNTAX_ERROR", f"Code: 62. DB::Exception: {message}. (SYNTAX_ERROR)")


def bad_arguments(message: str) -> ClickHouseError:
    return ClickHouseError(36, "BAD_ARGUMENTS", f"Code: 36. DB::Exception: {message}. (BAD_ARGUMENTS)")


def not_implemented(message: str) -> ClickHouseError:
    return ClickHouseError(48, "NOT_IMPLEMENTED", f"Code: 48. DB::Exception: {message}. (NOT_IMPLEMENTED)")


def access_denied(message: str) -> ClickHouseError:
    return ClickHouseError(497, "ACCESS_DENIED", f"Code: 497. DB::Exception: {message}. (ACCESS_DENIED)")
