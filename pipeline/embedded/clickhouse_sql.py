"""The embedded ClickHouse server's reading of a statement, before the engine sees it.

Where an INSERT's data begins and which FORMAT a query asks for (:func:`analyze_statement`),
what the server refuses for every user (:func:`refusal`) and which table an INSERT writes to
(:func:`insert_target`). A lexer, not a parser: it skips strings, quoted identifiers and
comments and tracks bracket depth, which is all that is needed to find top-level keywords the
way ClickHouse does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.embedded.clickhouse_errors import ClickHouseError, access_denied, syntax_error

# statements whose result is a table (ClickHouse's ASTQueryWithOutput); others answer with no body
RESULT_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK", "WATCH", "KILL"})
# statements that change a connection's state; outside a session their connection is not reused
STATEFUL_STATEMENTS = frozenset({"SET", "USE"})


_TOKEN_RE = re.compile(
    rb"""
    (?P<ws>\s+)
    |(?P<comment>(?:--|\#)[^\n]*)
    |(?P<string>'(?:[^'\\]+|\\.|'')*+')
    |(?P<dquoted>"(?:[^"\\]+|\\.|"")*+")
    |(?P<bquoted>`(?:[^`\\]+|\\.|``)*+`)
    |(?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<number>[0-9][0-9A-Za-z_.]*(?:[eEpP][+-][0-9]+)?)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<semicolon>;)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class _Incomplete(Exception):
    """The text ends inside a string, quoted name or comment: more of the body is needed."""


@dataclass(frozen=True)
class _Token:
    kind: str
    start: int
    end: int
    depth: int
    text: bytes


def _tokens(text: bytes | bytearray) -> Iterator[_Token]:
    """Significant tokens of ``text`` with their bracket depth (whitespace and comments skipped)."""
    pos, depth, size = 0, 0, len(text)
    while pos < size:
        if text.startswith(b"/*", pos):  # block comments nest in ClickHouse
            level, pos = 1, pos + 2
            while level:
                nxt_open, nxt_close = text.find(b"/*", pos), text.find(b"*/", pos)
                if nxt_close < 0:
                    raise _Incomplete
                if 0 <= nxt_open < nxt_close:
                    level, pos = level + 1, nxt_open + 2
                else:
                    level, pos = level - 1, nxt_close + 2
            continue
        match = _TOKEN_RE.match(text, pos)
        assert match is not None  # the last alternative matches any byte
        kind = match.lastgroup or "other"
        if kind == "other" and text[pos:pos + 1] in (b"'", b'"', b"`"):
            raise _Incomplete  # an opening quote whose closing quote has not arrived yet
        end = match.end()
        if kind not in ("ws", "comment"):
            if kind == "close":
                depth = max(0, depth - 1)
            yield _Token(kind, pos, end, depth, bytes(text[pos:end]))
            if kind == "open":
                depth += 1
        pos = end


@dataclass(frozen=True)
class Statement:
    """One request's statement, split the way ClickHouse's HTTP handler splits it."""

    sql: bytes  # the SQL to run; for an INSERT with data: the statement without its FORMAT/VALUES part
    keyword: str  # first keyword, upper-cased ("SELECT", "INSERT", …); "SELECT" for "(SELECT …)"
    insert_format: str | None = None  # set for an INSERT whose data follows: its input format
    data_offset: int = 0  # INSERT with data: where the data starts in the text read so far
    output_format: str | None = None  # a query's own FORMAT clause, if it has one
    temporary: bool = False  # mentions TEMPORARY (a session-scoped table)

    @property
    def has_result(self) -> bool:
        return self.insert_format is None and (self.keyword in RESULT_STATEMENTS or self.output_format is not None)


def analyze_statement(text: bytes | bytearray, complete: bool) -> Statement | None:
    """Classify the statement at the start of ``text``; None when more text is needed to tell.

    For ``INSERT … FORMAT fmt <data>`` / ``INSERT … VALUES <data>`` the data starts where
    ClickHouse starts it: after the format name, trailing blanks and at most one newline.
    Everything else is a query and needs the complete text.
    """
    try:
        tokens = _tokens(text)
        first = next(tokens, None)
        if first is None:
            if complete:
                raise syntax_error("Empty query")
            return None
        keyword = "SELECT" if first.kind == "open" else first.text.decode("latin-1").upper()
        if keyword == "INSERT":
            for token in tokens:
                if token.depth or token.kind != "word":
                    continue
                word = token.text.upper()
                if word == b"FORMAT":
                    name = next(tokens, None)
                    if name is None:
                        break  # the format name has not arrived yet
                    if name.kind != "word":
                        raise syntax_error("Expected a format name after FORMAT in the INSERT")
                    data = name.end
                    while data < len(text) and text[data] in b" \t\f":
                        data += 1
                    if data < len(text) and text[data] == 0x0D:
                        data += 1
                    if data < len(text) and text[data] == 0x0A:
                        data += 1
                    if data == len(text) and not complete:
                        return None  # the separator before the data might still be on its way
                    return Statement(bytes(text[:token.start]), "INSERT", name.text.decode("ascii"), data)
                if word == b"VALUES":
                    return Statement(bytes(text[:token.start]), "INSERT", "Values", token.end)
                if word in (b"SELECT", b"WITH"):
                    break  # INSERT … SELECT: an ordinary query, needs the whole text
        if not complete:
            return None
        return _query_statement(text, keyword)
    except _Incomplete:
        if complete:
            raise syntax_error("Unterminated string, quoted identifier or comment in the query") from None
        return None


def _query_statement(text: bytes | bytearray, keyword: str) -> Statement:
    tokens = list(_tokens(text))
    semicolons = [i for i, t in enumerate(tokens) if t.kind == "semicolon" and t.depth == 0]
    if semicolons and semicolons[0] != len(tokens) - 1 and any(t.kind != "semicolon" for t in tokens[semicolons[0]:]):
        raise syntax_error("Multi-statements are not allowed: send one statement per request")
    output_format = None
    for i, token in enumerate(tokens):
        if token.depth or token.kind != "word" or token.text.upper() != b"FORMAT" or i + 1 >= len(tokens):
            continue
        name, after = tokens[i + 1], tokens[i + 2] if i + 2 < len(tokens) else None
        # FORMAT <name> ends the statement (only SETTINGS or ';' may follow); anything else is a
        # column or function that happens to be called "format"
        if name.kind == "word" and (after is None or after.kind == "semicolon" or after.text.upper() == b"SETTINGS"):
            output_format = name.text.decode("ascii")
    temporary = any(t.kind == "word" and t.depth == 0 and t.text.upper() == b"TEMPORARY" for t in tokens[:4])
    return Statement(bytes(text), keyword, output_format=output_format, temporary=temporary)


# functions that read files or run programs outside the access control of table functions
# (ClickHouse's scalar file() reads any path in chDB; executable() runs scripts)
OUTSIDE_FUNCTIONS = frozenset({"file", "executable", "executablepool"})


def _name(token: _Token) -> str:
    """A word or quoted identifier as the name it stands for (lower-cased)."""
    text = token.text.decode("utf-8", "replace")
    if token.kind in ("bquoted", "dquoted"):
        text = text[1:-1].replace(text[0] * 2, text[0]).replace("\\" + text[0], text[0])
    return text.lower()


def refusal(sql: bytes) -> ClickHouseError | None:
    """Why the embedded server refuses ``sql`` for every user, or None.

    ClickHouse's grants refuse table functions and engines that reach outside the database;
    these are the parts chDB runs outside them: ``INTO OUTFILE`` and ``FROM INFILE`` (done by
    chDB's client side, as root of the server's files), the scalar ``file()``, ``executable()``,
    and ``SET ROLE`` (the server sets the authenticated user's role; a query may not change it).
    """
    tokens = [t for t in _tokens(sql) if t.kind != "semicolon"]
    names = [_name(t) if t.kind in ("word", "bquoted", "dquoted") else "" for t in tokens]
    if names[:2] == ["set", "role"] or names[:3] == ["set", "default", "role"]:
        return access_denied("SET ROLE is not allowed: the server sets the role of the user who authenticated")
    for i, token in enumerate(tokens[:-1]):
        pair = (names[i], names[i + 1]) if token.kind == "word" and tokens[i + 1].kind == "word" else None
        if pair == ("into", "outfile"):
            return access_denied("INTO OUTFILE is not allowed: the server writes no files; read the result from the response")
        if pair == ("from", "infile"):
            return access_denied("FROM INFILE is not allowed: the server reads no files; send the data in the request body")
        if names[i] in OUTSIDE_FUNCTIONS and tokens[i + 1].kind == "open" and tokens[i + 1].text == b"(":
            return access_denied(f"The function {names[i]}() is not allowed: it reaches outside the database")
    return None


def insert_target(sql: bytes) -> str | None:
    """The table an ``INSERT INTO [TABLE] [db.]table …`` writes to; None for ``INSERT INTO
    FUNCTION …`` or anything else."""
    tokens = list(_tokens(sql))
    names = [_name(t) if t.kind in ("word", "bquoted", "dquoted") else None for t in tokens[:6]]
    if names[:2] != ["insert", "into"]:
        return None
    position = 3 if len(names) > 2 and names[2] == "table" and tokens[2].kind == "word" else 2
    if position >= len(tokens) or names[position] is None or (names[position] == "function" and tokens[position].kind == "word"):
        return None
    table = position
    if position + 2 < len(tokens) and tokens[position + 1].text == b"." and names[position + 2] is not None:
        table = position + 2
    text = tokens[table].text.decode("utf-8", "replace")
    return text[1:-1].replace(text[0] * 2, text[0]) if tokens[table].kind in ("bquoted", "dquoted") else text
