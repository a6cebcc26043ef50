"""``VIGIL_CLICKHOUSE_CLUSTER``: the migrations rendered for a ClickHouse cluster (shards × replicas).

One node runs the migrations as written. On a cluster, ``vigil migrate`` renders each statement
first, into two databases:

* ``<database>_local`` holds the data: every ``MergeTree``-family table becomes
  ``Replicated…MergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', <its
  own arguments>)`` (the ``{shard}``/``{replica}`` macros come from each server's config), and
  the materialized views stay beside the tables they read, so each shard rolls up its own events.
* ``<database>`` — the one Vigil's processes use — holds a ``Distributed`` table of the same name
  over each of them: reads fan out to one replica of every shard, inserts go to the shard its
  sharding key names (:data:`SHARDING_KEYS`: events and sessions by ``cityHash64(session_id)``,
  so a session's events, their replays and its ``sessions`` row meet on one shard; other tables
  by a hash of their sorting key, so rows ClickHouse merges into one meet too).

Every DDL statement gets ``ON CLUSTER``; backfills (``INSERT … SELECT``) run through the
Distributed tables with ``parallel_distributed_insert_select = 2`` (each shard reads and writes
its own local tables) and ``distributed_foreground_insert = 1`` (the statement returns once the
shards hold the rows). A sealed rollup's backfill is its refreshable view's first refresh, which
ClickHouse starts when the view is created: ``SYSTEM WAIT VIEW`` has no ``ON CLUSTER`` form, so it
waits on the node that migrates, in the local database. The migrations themselves never name a
database or a cluster.

The rendering works on the statement's tokens (sqlglot's ClickHouse tokenizer, which knows the
quoting and comments), never on its text: it finds the statement's kind and object name at the
head, the ``ENGINE`` and ``ORDER BY`` clauses at parenthesis depth 0, and splices at token
boundaries; everything else is kept byte for byte. A statement of a kind it does not know is
refused with a :class:`ClusterRenderError`, never passed through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.tokens import Token, TokenType

from pipeline.warehouse.client import quote_identifier as quote

ZOOKEEPER_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
REPLICA = "{replica}"
# table → the Distributed table's sharding key, where a hash of the sorting key is not the right one
SHARDING_KEYS = {"events": "cityHash64(session_id)", "sessions": "cityHash64(session_id)"}
# what a statement run through the Distributed tables needs (see the module's docstring)
FOREGROUND_INSERT = {"distributed_foreground_insert": 1}
INSERT_SETTINGS = {"parallel_distributed_insert_select": 2, **FOREGROUND_INSERT}
_MERGE_TREE = re.compile(r"^(\w*)MergeTree$")
_TABLE_CLAUSES = {"ORDER", "PARTITION", "PRIMARY", "SAMPLE", "TTL", "SETTINGS", "COMMENT"}


class ClusterRenderError(ValueError):
    """A migration statement cannot be rendered for a cluster; the message says which and why."""


@dataclass(frozen=True)
class Topology:
    """Where the rendered schema goes: the cluster's name (``remote_servers``) and Vigil's database."""

    cluster: str
    database: str

    @property
    def local_database(self) -> str:
        """The database of the replicated tables and materialized views."""
        return f"{self.database}_local"


@dataclass(frozen=True)
class ClusterStatement:
    """One statement to run, in ``database`` (the client's current database), with ``settings``."""

    sql: str
    database: str
    settings: dict[str, int] = field(default_factory=dict)


_SYSTEM_WAIT_VIEW = re.compile(r"SYSTEM\s+WAIT\s+VIEW\s+(?:(?P<database>`?\w+`?)\.)?(?P<name>`?\w+`?)\s*$",
                               re.IGNORECASE)


@dataclass(frozen=True)
class _Head:
    kind: str  # "table", "materialized view", "view", "alter", "drop", "delete", "maintenance", "insert", "wait"
    name: str
    create: str  # how a CREATE began: "CREATE TABLE", "CREATE OR REPLACE TABLE", "CREATE TABLE IF NOT EXISTS"
    name_end: int  # character offset just after the object's name
    rest: list[Token]  # the tokens after the name


def literal(text: str) -> str:
    """``text`` as a ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def tokens(sql: str) -> list[Token]:
    """The statement's tokens (comments dropped), each with its offsets in ``sql``."""
    return ClickHouse().tokenize(sql)


def _word(token: Token) -> str:
    """A keyword token's text, upper case, one space between words (the tokenizer joins some,
    e.g. ``ORDER BY``); "" for a quoted identifier."""
    return " ".join(token.text.upper().split()) if token.token_type != TokenType.IDENTIFIER else ""


def _name(toks: list[Token], i: int, sql: str) -> tuple[str, int]:
    """The object name at ``toks[i]`` and the index after it; qualified names are refused."""
    if i >= len(toks) or toks[i].token_type in (TokenType.L_PAREN, TokenType.SEMICOLON):
        raise ClusterRenderError(f"no object name where one was expected: {sql[:120]!r}")
    if i + 1 < len(toks) and toks[i + 1].token_type == TokenType.DOT:
        raise ClusterRenderError(f"{sql[:120]!r} names a database; migrations name tables only (the cluster "
                                 "rendering chooses the database of each statement)")
    return toks[i].text, i + 1


def _head(sql: str) -> _Head:
    """The statement's kind and object name, from the keywords it starts with."""
    toks = tokens(sql)
    if toks and toks[0].text.upper() == "SYSTEM":  # the tokenizer leaves a SYSTEM command's rest as one string
        wait = _SYSTEM_WAIT_VIEW.match(sql, toks[0].start)  # after any comment before it
        if wait is None:
            raise ClusterRenderError(f"cannot render {sql[:60]!r}… for a cluster: of the SYSTEM statements, "
                                     "migrations may only SYSTEM WAIT VIEW <view> (a refreshable view's backfill)")
        if wait.group("database"):
            raise ClusterRenderError(f"{sql[:120]!r} names a database; migrations name tables only (the cluster "
                                     "rendering chooses the database of each statement)")
        return _Head("wait", wait.group("name"), "", wait.end("name"), [])
    # one entry per word, with the index of the token after the one it is in
    words: list[tuple[str, int]] = [(word, index + 1) for index, token in enumerate(toks)
                                    for word in (_word(token).split() or [""])]
    at = 0
    i = 0

    def take(*expected: str) -> bool:
        nonlocal at, i
        if tuple(word for word, _ in words[at:at + len(expected)]) == expected:
            at += len(expected)
            i = words[at - 1][1]
            return True
        return False

    create = ""
    if take("CREATE"):
        create = "CREATE OR REPLACE TABLE" if take("OR", "REPLACE") else "CREATE TABLE"
        if take("TABLE"):
            kind = "table"
        elif take("MATERIALIZED", "VIEW"):
            kind = "materialized view"
        elif take("VIEW"):
            kind = "view"
        else:
            raise ClusterRenderError(f"cannot render {sql[:60]!r}… for a cluster (only TABLE, VIEW, MATERIALIZED VIEW)")
        if take("IF", "NOT", "EXISTS") and create == "CREATE TABLE":
            create += " IF NOT EXISTS"
    elif take("ALTER", "TABLE"):
        kind = "alter"
    elif take("DROP", "TABLE") or take("DROP", "VIEW"):
        kind = "drop"
        take("IF", "EXISTS")
    elif take("DELETE", "FROM"):
        kind = "delete"
    elif take("TRUNCATE", "TABLE"):
        kind = "maintenance"
        take("IF", "EXISTS")
    elif take("INSERT", "INTO"):
        kind = "insert"
        take("TABLE")
    else:
        raise ClusterRenderError(f"cannot render {sql[:60]!r}… for a cluster: not a statement kind "
                                 "pipeline/warehouse/cluster_schema.py knows; teach it, or write the statement "
                                 "as CREATE/ALTER/DROP/DELETE/TRUNCATE/INSERT/SYSTEM WAIT VIEW")
    name, after = _name(toks, i, sql)
    return _Head(kind, name, create, toks[after - 1].end + 1, toks[after:])


def _depth0(toks: list[Token]) -> list[tuple[int, Token]]:
    """(index, token) of the tokens outside any parentheses."""
    out, depth = [], 0
    for index, token in enumerate(toks):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0:
            out.append((index, token))
    return out


def _closing(toks: list[Token], open_index: int) -> int:
    """The index of the parenthesis closing ``toks[open_index]``."""
    depth = 0
    for index in range(open_index, len(toks)):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(toks[index].token_type, 0)
        if depth == 0:
            return index
    raise ClusterRenderError("unbalanced parentheses")


@dataclass(frozen=True)
class _Engine:
    name: str
    arguments: str  # verbatim, "" when none
    start: int  # character span of the engine (name and arguments) in the statement
    end: int


def _engine(sql: str, rest: list[Token]) -> _Engine:
    top = _depth0(rest)
    for index, token in top:
        if _word(token) != "ENGINE":
            continue
        index += 2 if rest[index + 1].token_type == TokenType.EQ else 1
        name = rest[index]
        if index + 1 < len(rest) and rest[index + 1].token_type == TokenType.L_PAREN:
            close = _closing(rest, index + 1)
            return _Engine(name.text, sql[rest[index + 1].end + 1:rest[close].start].strip(), name.start,
                           rest[close].end + 1)
        return _Engine(name.text, "", name.start, name.end + 1)
    raise ClusterRenderError(f"CREATE TABLE without an ENGINE clause: {sql[:120]!r}")


def _sorting_key(sql: str, rest: list[Token]) -> str:
    """The ``ORDER BY`` expression's text, without the parentheses of a tuple."""
    top = _depth0(rest)
    for position, (index, token) in enumerate(top):
        if _word(token) == "ORDER BY":
            first = index + 1
            last = len(rest) - 1
            for later, other in top[position + 1:]:
                if _word(other).split(" ")[0] in _TABLE_CLAUSES or other.token_type == TokenType.SEMICOLON:
                    last = later - 1
                    break
            if rest[first].token_type == TokenType.L_PAREN and _closing(rest, first) == last:
                return sql[rest[first].end + 1:rest[last].start].strip()
            return sql[rest[first].start:rest[last].end + 1].strip()
    raise ClusterRenderError(f"CREATE TABLE without ORDER BY: {sql[:120]!r}")


class Renderer:
    """Renders migration statements in order; it remembers which tables have a Distributed table."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.cluster = quote(topology.cluster)
        self.sharding: dict[str, str] = {}  # table → its Distributed table's sharding key

    def databases(self) -> list[ClusterStatement]:
        """Create both databases on every node (run with no current database)."""
        return [ClusterStatement(f"CREATE DATABASE IF NOT EXISTS {quote(name)} ON CLUSTER {self.cluster}", "")
                for name in (self.topology.database, self.topology.local_database)]

    def render(self, sql: str) -> list[ClusterStatement]:
        """The statements that do on the cluster what ``sql`` does on one node."""
        head = _head(sql)
        local, shared = self.topology.local_database, self.topology.database
        on_cluster = sql[:head.name_end] + f" ON CLUSTER {self.cluster}"
        if head.kind == "table":
            return self._table(sql, head, on_cluster)
        if head.kind == "materialized view":  # a trigger on inserts: beside the local table it reads
            return [ClusterStatement(on_cluster + sql[head.name_end:], local)]
        if head.kind == "view":  # a stored query: where queries run, over the Distributed tables
            return [ClusterStatement(on_cluster + sql[head.name_end:], shared)]
        if head.kind == "alter":
            statements = [ClusterStatement(on_cluster + sql[head.name_end:], local)]
            if head.name in self.sharding and any(_word(t) == "COLUMN" for _, t in _depth0(head.rest)):
                statements.append(self._distributed(head.name, "CREATE OR REPLACE TABLE"))
            return statements
        if head.kind == "drop":
            # SYNC: a table of the same name may be created next, on the same replication path
            statements = [ClusterStatement(on_cluster + sql[head.name_end:].rstrip() + " SYNC", local)]
            if self.sharding.pop(head.name, None) is not None:
                statements.insert(0, ClusterStatement(
                    f"DROP TABLE IF EXISTS {quote(shared)}.{quote(head.name)} ON CLUSTER {self.cluster} SYNC", shared))
            return statements
        if head.kind in ("delete", "maintenance"):  # the data is in the local tables
            return [ClusterStatement(on_cluster + sql[head.name_end:], local)]
        if head.kind == "wait":  # a refreshable view's first refresh (the backfill), where the view lives;
            # ClickHouse has no ON CLUSTER form: it waits for the node the migration runs on
            return [ClusterStatement(sql, local)]
        if head.name not in self.sharding:  # insert
            raise ClusterRenderError(f"INSERT INTO {head.name}: not a table the migrations created before it")
        return [ClusterStatement(sql, shared, dict(INSERT_SETTINGS))]

    def _table(self, sql: str, head: _Head, on_cluster: str) -> list[ClusterStatement]:
        engine = _engine(sql, head.rest)
        family = _MERGE_TREE.match(engine.name)
        if family is None:
            raise ClusterRenderError(f"table {head.name}: ENGINE = {engine.name} is not of the MergeTree family; "
                                     "only those can be replicated and sharded by this rendering")
        if engine.name.startswith("Replicated"):
            raise ClusterRenderError(f"table {head.name}: ENGINE = {engine.name}; migrations are written for one "
                                     "node (plain MergeTree engines), the cluster rendering replicates them")
        arguments = [literal(ZOOKEEPER_PATH), literal(REPLICA)] + ([engine.arguments] if engine.arguments else [])
        replicated = f"Replicated{engine.name}({', '.join(arguments)})"
        key = _sorting_key(sql, head.rest)
        unordered = "".join(key.split()).lower() in ("", "tuple()")  # ORDER BY tuple(): nothing to hash
        self.sharding[head.name] = SHARDING_KEYS.get(head.name) or ("rand()" if unordered else f"cityHash64({key})")
        local = on_cluster + sql[head.name_end:engine.start] + replicated + sql[engine.end:]
        return [ClusterStatement(local, self.topology.local_database), self._distributed(head.name, head.create)]

    def _distributed(self, table: str, create: str) -> ClusterStatement:
        """The Distributed table over ``table``, with the local table's columns (``AS``)."""
        shared, local = self.topology.database, self.topology.local_database
        engine = (f"Distributed({literal(self.topology.cluster)}, {literal(local)}, {literal(table)}, "
                  f"{self.sharding[table]})")
        return ClusterStatement(f"{create} {quote(shared)}.{quote(table)} ON CLUSTER {self.cluster} "
                                f"AS {quote(local)}.{quote(table)} ENGINE = {engine}", shared)
