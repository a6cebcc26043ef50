"""``vigil clickhouse`` speaks ClickHouse's HTTP interface well enough for clickhouse-connect.

Real chDB engine, real HTTP, real clickhouse-connect client: the session's ``clickhouse``
fixture for most tests, a private server for the ones that restart or crash it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import json
import threading
import time
import uuid
import zlib
from decimal import Decimal
from urllib.parse import unquote, urlencode, urlsplit

import lz4.frame
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from pipeline.embedded.clickhouse_sql import analyze_statement
from tests.support.clickhouse import ClickHouseServer

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc


@pytest.fixture
def client(clickhouse):
    client = clickhouse.client()
    yield client
    client.close()


@pytest.fixture
def table(client):
    """A fresh table name in the test database, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client.command(f"DROP TABLE IF EXISTS {name}")


def http_request(server, method: str, params: dict | None = None, body=None, headers: dict | None = None,
                 path: str = "/") -> tuple[int, dict, bytes]:
    """A raw HTTP request (for what clickhouse-connect does not send on its own), as user vigil."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        target = path + ("?" + urlencode(params) if params else "")
        encode_chunked = headers is not None and headers.get("Transfer-Encoding") == "chunked"
        headers = {"X-ClickHouse-User": url.username, "X-ClickHouse-Key": unquote(url.password), **(headers or {})}
        connection.request(method, target, body=body, headers=headers, encode_chunked=encode_chunked)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# ---------------------------------------------------------------------------- basics


def test_ping_answers_ok(clickhouse):
    status, headers, body = http_request(clickhouse, "GET", path="/ping")
    assert (status, body) == (200, b"Ok.\n")
    assert http_request(clickhouse, "GET")[2] == b"Ok.\n"  # GET / without a query, like ClickHouse
    assert clickhouse.client().ping()


def test_unknown_path_is_404(clickhouse):
    status, _, body = http_request(clickhouse, "GET", path="/play")
    assert status == 404
    assert b"There is no handle /play" in body


def test_command_returns_values_and_summaries(client, table):
    assert client.command("SELECT 41 + 1") == 42
    assert client.command("SELECT 'a', 'b'") == ["a", "b"]
    created = client.command(f"CREATE TABLE {table} (n UInt8) ENGINE = MergeTree ORDER BY n")
    assert created.written_rows == 0  # a statement without result: a summary, not a value
    assert client.command(f"SELECT count() FROM {table} WHERE n > 5") == 0
    assert client.command(f"SELECT n FROM {table}") == ""  # empty result set of a SELECT


def test_server_identity_and_timezone_as_clickhouse_reports_them(client):
    version, tz = client.command("SELECT version(), timezone()")
    assert client.server_version == version
    assert version.split(".")[0].isdigit()
    assert tz


def test_session_timezone_is_reported_and_used(clickhouse):
    params = {"query": "SELECT toDateTime('2025-06-01 12:00:00')", "session_timezone": "Asia/Tokyo"}
    status, headers, body = http_request(clickhouse, "GET", params=params)
    assert headers["x-clickhouse-timezone"] == "Asia/Tokyo"
    client = clickhouse.client()
    moment = client.query("SELECT toDateTime('2025-06-01 12:00:00') AS t, toUnixTimestamp(t)", settings={"session_timezone": "Asia/Tokyo"}).first_row
    assert moment[1] == int(dt.datetime(2025, 6, 1, 3, 0, tzinfo=UTC).timestamp())


def test_query_id_is_echoed(clickhouse):
    status, headers, _ = http_request(clickhouse, "GET", params={"query": "SELECT 1", "query_id": "q-123"})
    assert headers["x-clickhouse-query-id"] == "q-123"
    assert http_request(clickhouse, "GET", params={"query": "SELECT 1"})[1]["x-clickhouse-query-id"]  # generated


# ---------------------------------------------------------------------------- statements


@pytest.mark.parametrize(
    ("text", "head", "fmt", "data"),
    [
        (b"INSERT INTO t FORMAT Native\n\x01\x02", b"INSERT INTO t ", "Native", b"\x01\x02"),
        (b"INSERT INTO t (a, `format`) FORMAT CSV  \r\n1,2\n", b"INSERT INTO t (a, `format`) ", "CSV", b"1,2\n"),
        (b"/* FORMAT x */ INSERT INTO t SETTINGS async_insert = 0 FORMAT TSV\n1\n", b"/* FORMAT x */ INSERT INTO t SETTINGS async_insert = 0 ", "TSV", b"1\n"),
        (b"insert into t values (1, 'FORMAT Native')", b"insert into t ", "Values", b" (1, 'FORMAT Native')"),
        (b"INSERT INTO FUNCTION file('x.csv', 'CSV') FORMAT CSV\n1\n", b"INSERT INTO FUNCTION file('x.csv', 'CSV') ", "CSV", b"1\n"),
    ],
)
def test_insert_data_starts_where_clickhouse_starts_it(text, head, fmt, data):
    statement = analyze_statement(text, complete=True)
    assert (statement.sql, statement.insert_format, text[statement.data_offset:]) == (head, fmt, data)


def test_statement_needs_more_text_until_the_data_begins():
    assert analyze_statement(b"INSERT INTO t FORM", complete=False) is None
    assert analyze_statement(b"INSERT INTO t FORMAT Nat", complete=False) is None  # the name may go on
    assert analyze_statement(b"INSERT INTO t VALUES ('a", complete=False).insert_format == "Values"
    assert analyze_statement(b"SELECT 'unterminated", complete=False) is None
    assert analyze_statement(b"SELECT 1", complete=False) is None  # a query is only known whole


def test_query_statements_know_their_format_and_kind():
    assert analyze_statement(b"SELECT format('{}', 1) AS format FROM t FORMAT JSON", complete=True).output_format == "JSON"
    assert analyze_statement(b"SELECT 1 FORMAT Native SETTINGS max_threads = 1;", complete=True).output_format == "Native"
    assert analyze_statement(b"SELECT 'FORMAT CSV'", complete=True).output_format is None
    assert analyze_statement(b"(SELECT 1) UNION ALL (SELECT 2)", complete=True).has_result
    assert not analyze_statement(b"CREATE TABLE t (format String) ENGINE = Memory", complete=True).has_result
    assert analyze_statement(b"INSERT INTO t SELECT 1", complete=True).insert_format is None
    assert analyze_statement(b"CREATE TEMPORARY TABLE x (n UInt8)", complete=True).temporary


# ---------------------------------------------------------------------------- parameters


def test_query_binds_typed_parameters(client):
    tricky = "it's a \"quote\", a back\\slash, a tab\t, a newline\n, unicode: é ✓ 漢字 🙂, braces {x:String}"
    parameters = {
        "s": tricky,
        "i": -9_223_372_036_854_775_807,
        "u": 18_446_744_073_709_551_615,
        "f": 3.25,
        "t": dt.datetime(2024, 2, 29, 23, 59, 58, 123000),
        "a": ["x'y", 'z"w', "back\\slash", ""],
        "d": dt.date(1999, 12, 31),
        "n": None,
        "dec": Decimal("12345.6789"),
    }
    row = client.query(
        "SELECT {s:String}, {i:Int64}, {u:UInt64}, {f:Float64}, {t:DateTime64(3)}, {a:Array(String)}, "
        "{d:Date}, {n:Nullable(String)}, {dec:Decimal(18, 4)}",
        parameters=parameters,
    ).first_row
    assert row == (tricky, parameters["i"], parameters["u"], 3.25, parameters["t"], parameters["a"],
                   parameters["d"], None, parameters["dec"])


def test_parameters_never_become_sql(client, table):
    client.command(f"CREATE TABLE {table} (name String) ENGINE = MergeTree ORDER BY name")
    client.insert(table, [["alice"], ["bob"]], column_names=["name"])
    injection = "x' OR 1=1 --"
    assert client.query(f"SELECT count() FROM {table} WHERE name = {{name:String}}", parameters={"name": injection}).first_row == (0,)
    assert client.query(f"SELECT count() FROM {table} WHERE name = {{name:String}}", parameters={"name": "bob"}).first_row == (1,)


def test_long_parameters_travel_as_a_form(clickhouse):
    # above ~a few KB of parameters clickhouse-connect switches to multipart/form-data
    client = clickhouse.client(form_encode_query_params=True)
    many = [f"value-{i}-{'x' * 20}" for i in range(2000)]
    assert client.query("SELECT length({a:Array(String)}), {s:String}", parameters={"a": many, "s": "form ✓"}).first_row == (2000, "form ✓")


# ---------------------------------------------------------------------------- results


def test_query_df_arrow_and_numpy(client):
    sql = "SELECT number AS n, toString(number) AS s, number / 2 AS half FROM numbers(1000)"
    frame = client.query_df(sql)
    assert list(frame.columns) == ["n", "s", "half"]
    assert len(frame) == 1000 and frame["n"].sum() == sum(range(1000)) and frame["s"].iloc[7] == "7"
    arrow = client.query_arrow(sql)
    assert arrow.num_rows == 1000 and arrow.column("half").to_pylist()[3] == 1.5
    array = client.query_np("SELECT number AS n, number * 2 AS m FROM numbers(5)")
    assert array.tolist() == [[0, 0], [1, 2], [2, 4], [3, 6], [4, 8]]


def test_native_and_rowbinary_results(client):
    native = client.raw_query("SELECT toUInt32(7) AS seven", fmt="Native")
    assert native == b"\x01\x01\x05seven\x06UInt32" + (7).to_bytes(4, "little")
    assert client.raw_query("SELECT toUInt32(7)", fmt="RowBinary") == (7).to_bytes(4, "little")
    with_header = client.raw_query("SELECT toUInt16(1) AS a, 'x' AS b", fmt="RowBinaryWithNamesAndTypes")
    assert with_header == b"\x02\x01a\x01b\x06UInt16\x06String" + b"\x01\x00" + b"\x01x"
    assert client.raw_query("SELECT 1 AS a, 'x' AS b", fmt="TabSeparatedWithNames") == b"a\tb\n1\tx\n"
    assert json.loads(client.raw_query("SELECT 1 AS a", fmt="JSON"))["data"] == [{"a": 1}]


def test_url_encoded_body_is_the_query_like_curl_d(clickhouse):
    status, _, body = http_request(clickhouse, "POST", body=b"SELECT 1 + 1",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body) == (200, b"2\n")


def test_format_clause_and_default_format(clickhouse):
    status, headers, body = http_request(clickhouse, "POST", body=b"SELECT 1 AS one FORMAT JSONEachRow")
    assert (status, body, headers["x-clickhouse-format"]) == (200, b'{"one":1}\n', "JSONEachRow")
    status, headers, body = http_request(clickhouse, "GET", params={"query": "SELECT 2 AS two", "default_format": "CSVWithNames"})
    assert body == b'"two"\n2\n'
    assert headers["content-type"].startswith("text/csv")
    status, headers, body = http_request(clickhouse, "GET", params={"query": "SELECT 'a\tb'"})
    assert body == b"a\\tb\n"  # TabSeparated unless asked otherwise
    assert headers["x-clickhouse-format"] == "TabSeparated"
    assert "x-clickhouse-summary" in headers and headers["x-clickhouse-query-id"]


def test_large_result_streams_back_whole(client):
    # several engine blocks, streamed in chunks: the sum proves none was lost or repeated
    total, rows = client.query("SELECT sum(number), count() FROM (SELECT number FROM numbers(3000000))").first_row
    frame = client.query_df("SELECT number, toString(number) AS s FROM numbers(1500000)")
    assert len(frame) == 1_500_000 and int(frame["number"].sum()) == 1_500_000 * 1_499_999 // 2
    blocks = 0
    with client.query_row_block_stream("SELECT number FROM numbers(1000000)") as stream:
        seen = 0
        for block in stream:
            blocks += 1
            seen += len(block)
    assert seen == 1_000_000 and blocks > 1


def test_formats_with_header_and_footer_come_back_whole(clickhouse):
    # several engine blocks: JSON is answered whole, never as concatenated per-block documents
    status, headers, body = http_request(clickhouse, "GET", params={"query": "SELECT number FROM numbers(300000) FORMAT JSON"})
    document = json.loads(body)
    assert document["rows"] == 300000 and int(document["data"][-1]["number"]) == 299999


@pytest.mark.parametrize("compress", [True, False, "gzip", "zstd", "lz4"])
def test_compressed_responses_and_inserts_round_trip(clickhouse, table, compress):
    client = clickhouse.client(compress=compress)
    client.command(f"CREATE TABLE {table} (n UInt64, s String) ENGINE = MergeTree ORDER BY n")
    # ~200 bytes a row: clickhouse-connect sends ~16k-row blocks, each its own lz4/zstd frame
    rows = [[i, f"row {i} " * (i % 40)] for i in range(50_000)]
    client.insert(table, rows, column_names=["n", "s"])
    assert client.query(f"SELECT n, s FROM {table} ORDER BY n").result_rows == [tuple(r) for r in rows]


def test_response_is_compressed_when_the_client_asks(clickhouse):
    params = {"query": "SELECT number FROM numbers(100000) FORMAT Native", "enable_http_compression": "1"}
    status, headers, body = http_request(clickhouse, "GET", params=params, headers={"Accept-Encoding": "gzip"})
    assert headers.get("content-encoding") == "gzip"
    plain = http_request(clickhouse, "GET", params={"query": params["query"]})[2]
    assert gzip.decompress(body) == plain
    status, headers, body = http_request(clickhouse, "GET", params=params, headers={"Accept-Encoding": "lz4, gzip"})
    assert headers.get("content-encoding") == "lz4" and lz4.frame.decompress(body) == plain
    # without enable_http_compression=1 ClickHouse never compresses
    status, headers, body = http_request(clickhouse, "GET", params={"query": params["query"]}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers


# ---------------------------------------------------------------------------- inserts


def test_insert_mixed_types_reads_back_exactly(client, table):
    client.command(
        f"""CREATE TABLE {table} (
            id UInt32, kind LowCardinality(String), at DateTime64(3, 'UTC'), tags Map(LowCardinality(String), String),
            items Array(String), score Nullable(Float64), note Nullable(String), big Int64, blob String
        ) ENGINE = MergeTree ORDER BY id"""
    )
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        [
            i,
            ("web_vital", "error", "page_view")[i % 3],
            start + dt.timedelta(milliseconds=i * 1001),
            {"release": f"v{i % 4}", "env": "prod" if i % 2 else "staging"} if i % 5 else {},
            [f"item-{j}" for j in range(i % 4)],
            None if i % 7 == 0 else i * 0.5,
            None if i % 2 else f"note ✓ {i}",
            -(2**62) + i,
            f"q'\"\\\t\n{i}",
        ]
        for i in range(5000)
    ]
    columns = ["id", "kind", "at", "tags", "items", "score", "note", "big", "blob"]
    summary = client.insert(table, rows, column_names=columns)
    assert summary.written_rows == 5000
    back = client.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").result_rows
    expected = [tuple(r[:2]) + (r[2].replace(tzinfo=None),) + tuple(r[3:]) for r in rows]
    assert [tuple(r) for r in back] == expected


def test_insert_dataframe(client, table):
    import pandas as pd

    client.command(f"CREATE TABLE {table} (n Int32, s String, f Float64) ENGINE = MergeTree ORDER BY n")
    frame = pd.DataFrame({"n": range(3000), "s": [f"s{i}" for i in range(3000)], "f": [i / 4 for i in range(3000)]})
    client.insert_df(table, frame)
    back = client.query_df(f"SELECT n, s, f FROM {table} ORDER BY n")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_insert_statement_in_the_body(clickhouse, client, table):
    client.command(f"CREATE TABLE {table} (n UInt8, s String) ENGINE = MergeTree ORDER BY n")
    status, _, body = http_request(clickhouse, "POST", params={"database": "vigil"},
                                   body=f"INSERT INTO {table} FORMAT TabSeparated\n1\tone\n2\ttwo\n".encode())
    assert status == 200, body
    status, _, body = http_request(clickhouse, "POST", params={"database": "vigil", "query": f"INSERT INTO {table} FORMAT CSV"},
                                   body=b'3,"three, with comma"\n')
    assert status == 200, body
    status, _, body = http_request(clickhouse, "POST", params={"database": "vigil"},
                                   body=f"INSERT INTO {table} (n, s) VALUES (4, 'fo;ur'), (5, 'five')".encode())
    assert status == 200, body
    native = client.raw_query("SELECT toUInt8(6) AS n, 'six' AS s", fmt="Native")
    status, headers, body = http_request(clickhouse, "POST", params={"database": "vigil"},
                                         body=f"INSERT INTO {table} FORMAT Native\n".encode() + native)
    assert status == 200, body
    assert json.loads(headers["x-clickhouse-summary"])["written_rows"] == "1"
    assert client.query(f"SELECT n, s FROM {table} ORDER BY n").result_rows == [
        (1, "one"), (2, "two"), (3, "three, with comma"), (4, "fo;ur"), (5, "five"), (6, "six")
    ]


def test_insert_select_is_a_query(client, table):
    client.command(f"CREATE TABLE {table} (n UInt64) ENGINE = MergeTree ORDER BY n")
    summary = client.command(f"INSERT INTO {table} SELECT number FROM numbers(10)")
    assert summary.written_rows == 10
    assert client.command(f"SELECT sum(n) FROM {table}") == 45


def test_gzip_compressed_body(clickhouse, client, table):
    client.command(f"CREATE TABLE {table} (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
    data = "".join(f"{i}\tvalue {i}\n" for i in range(10000)).encode()
    body = gzip.compress(f"INSERT INTO {table} FORMAT TabSeparated\n".encode() + data)
    status, _, answer = http_request(clickhouse, "POST", params={"database": "vigil"}, body=body,
                                     headers={"Content-Encoding": "gzip"})
    assert status == 200, answer
    query = zlib.compress(f"SELECT count(), sum(n) FROM {table} FORMAT TabSeparated".encode())
    status, _, answer = http_request(clickhouse, "POST", params={"database": "vigil"}, body=query,
                                     headers={"Content-Encoding": "deflate"})
    assert (status, answer) == (200, f"10000\t{sum(range(10000))}\n".encode())


def test_chunked_body_split_anywhere(clickhouse, client, table):
    client.command(f"CREATE TABLE {table} (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
    payload = f"INSERT INTO {table} FORMAT TabSeparated\n".encode() + "".join(f"{i}\ts{i}\n" for i in range(5000)).encode()
    # chunks of 7 bytes: the statement itself, its FORMAT name and the data all straddle chunks
    chunks = (payload[i:i + 7] for i in range(0, len(payload), 7))
    status, _, answer = http_request(clickhouse, "POST", params={"database": "vigil"}, body=chunks,
                                     headers={"Transfer-Encoding": "chunked"})
    assert status == 200, answer
    assert client.query(f"SELECT count(), max(s) FROM {table}").first_row == (5000, "s999")


def test_unterminated_insert_data_is_an_error_and_writes_nothing(client, table):
    client.command(f"CREATE TABLE {table} (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
    good = client.raw_query("SELECT toUInt32(1) AS n, 'x' AS s", fmt="Native")
    with pytest.raises(DatabaseError) as caught:
        client.raw_insert(table, ["n", "s"], insert_block=good[:-3], fmt="Native")
    assert caught.value.code == 33  # CANNOT_READ_ALL_DATA
    assert client.command(f"SELECT count() FROM {table}") == 0


# ---------------------------------------------------------------------------- errors


def test_sql_error_raises_database_error_with_code(client):
    with pytest.raises(DatabaseError) as caught:
        client.query("SELECT no_such_column")
    assert caught.value.code == 47
    assert "Unknown expression identifier" in str(caught.value)
    with pytest.raises(DatabaseError) as caught:
        client.command("SELECT * FROM no_such_table")
    assert caught.value.code == 60
    with pytest.raises(DatabaseError) as caught:
        client.command("SELEC 1")
    assert caught.value.code == 62


def test_error_status_codes_match_clickhouse(clickhouse):
    # in vigil: chDB looks up unknown names of its `default` database as files, which is refused (403)
    cases = {"SELECT * FROM vigil.no_such_table": (404, "60"), "SELEC 1": (400, "62"), "SELECT throwIf(1, 'x')": (500, "395")}
    for sql, (want_status, want_code) in cases.items():
        status, headers, body = http_request(clickhouse, "POST", body=sql.encode())
        assert (status, headers["x-clickhouse-exception-code"]) == (want_status, want_code), sql
        assert body.startswith(f"Code: {want_code}. DB::Exception: ".encode())


def test_error_in_the_middle_of_a_streamed_result_reaches_the_client(client):
    with pytest.raises(DatabaseError) as caught:
        client.query("SELECT throwIf(number = 900000, 'boom at row 900000') FROM numbers(2000000)")
    assert "boom at row 900000" in str(caught.value)
    assert client.command("SELECT 1") == 1  # the connection is usable afterwards


def test_multi_statements_are_refused_like_clickhouse(client):
    with pytest.raises(DatabaseError) as caught:
        client.command("SELECT 1; SELECT 2")
    assert caught.value.code == 62 and "Multi-statements" in str(caught.value)
    assert client.command("SELECT 3;") == 3  # a trailing semicolon is fine


def test_get_requests_are_read_only(clickhouse, table):
    status, headers, body = http_request(
        clickhouse, "GET", params={"query": f"CREATE TABLE {table} (n UInt8) ENGINE = Memory", "database": "vigil"}
    )
    assert status == 500 and headers["x-clickhouse-exception-code"] == "164"  # READONLY


def test_unknown_settings_are_ignored_known_ones_applied(clickhouse):
    params = {"query": "SELECT getSetting('max_threads')", "max_threads": "3", "no_such_setting": "1"}
    status, _, body = http_request(clickhouse, "GET", params=params)
    assert (status, body) == (200, b"3\n")


def test_unknown_database_is_404(clickhouse):
    status, headers, _ = http_request(clickhouse, "GET", params={"query": "SELECT 1", "database": "no_such_db"})
    assert (status, headers["x-clickhouse-exception-code"]) == (404, "81")


# ---------------------------------------------------------------------------- sessions and settings


def test_session_keeps_set_and_temporary_tables(clickhouse):
    client = clickhouse.client(autogenerate_session_id=True)
    client.command("SET max_threads = 1")
    client.command("CREATE TEMPORARY TABLE scratch (n UInt8)")
    client.command("INSERT INTO scratch VALUES (1), (2)")
    assert client.command("SELECT count() FROM scratch") == 2
    assert client.command("SELECT getSetting('max_threads')") == 1
    # a setting sent with one query applies to that query only, as in ClickHouse
    assert client.query("SELECT getSetting('max_threads')", settings={"max_threads": 2}).first_row == (2,)
    assert client.command("SELECT getSetting('max_threads')") == 1
    other = clickhouse.client(autogenerate_session_id=True)
    with pytest.raises(DatabaseError):
        other.command("SELECT count() FROM scratch")  # temporary tables are per session


def test_without_session_state_does_not_leak_between_requests(clickhouse):
    client = clickhouse.client()  # Vigil's default: no session
    client.command("SET max_threads = 1")
    assert client.command("SELECT getSetting('max_threads')") != 1


# ---------------------------------------------------------------------------- concurrency


def test_sixteen_concurrent_clients_insert_and_query(clickhouse, client, table):
    client.command(f"CREATE TABLE {table} (worker UInt8, n UInt32, s String) ENGINE = MergeTree ORDER BY (worker, n)")
    errors: list[BaseException] = []
    batches, batch_rows = 5, 2000

    def work(worker: int) -> None:
        try:
            mine = clickhouse.client()
            for batch in range(batches):
                rows = [[worker, batch * batch_rows + i, f"w{worker}"] for i in range(batch_rows)]
                mine.insert(table, rows, column_names=["worker", "n", "s"])
                seen = mine.query(f"SELECT count() FROM {table} WHERE worker = {{w:UInt8}}", parameters={"w": worker}).first_row[0]
                assert seen == (batch + 1) * batch_rows
                mine.query(f"SELECT worker, count(), uniqExact(n) FROM {table} GROUP BY worker")
            mine.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[0]
    assert client.query(f"SELECT count(), uniqExact(worker) FROM {table}").first_row == (16 * batches * batch_rows, 16)


def test_an_events_batch_of_20k_rows_goes_in_whole(client, table, capsys):
    """A 20k-row batch shaped like the processor's, into a scratch copy of the events table
    (later migrations add columns; those take their defaults). The rate is printed for the
    record, not asserted: speed is the benchmarks' business."""
    client.command(f"CREATE TABLE {table} AS events")
    now = dt.datetime.now(UTC)
    row = {
        "project_id": 1, "type": "web_vital", "timestamp": now, "event_id": "", "received_at": now,
        "session_id": "s-1", "visitor_id": "v-1", "user_id": "", "release": "1.0.0", "environment": "production",
        "url": "https://shop.example.com/products/42?ref=home", "path": "/products/42", "referrer": "https://www.google.com/",
        "title": "Product 42 — Shop", "browser": "Chrome", "browser_version": "131", "os": "macOS", "os_version": "15",
        "device": "desktop", "client_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Macintosh) Chrome/131.0",
        "sdk_name": "vigil-js", "sdk_version": "1.0.0", "tags": {"plan": "pro"}, "vital_name": "LCP",
        "vital_value": 2310.5, "vital_rating": "good", "error_kind": "", "error_type": "", "error_message": "",
        "duration_ms": 0.0, "http_method": "", "http_url": "", "http_status": 0, "target": "", "name": "",
        "data": '{"name":"LCP","value":2310.5,"rating":"good","navigationType":"navigate"}',
    }
    names = list(row)
    batch = []
    for i in range(20000):
        values = dict(row, event_id=str(uuid.uuid4()), session_id=f"s-{i % 500}", vital_value=float(i % 5000))
        batch.append([values[name] for name in names])
    client.insert(table, batch[:100], column_names=names)  # warm up (column types are fetched once); same ids
    started = time.perf_counter()
    client.insert(table, batch, column_names=names)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n20k-row events insert through clickhouse-connect: {elapsed * 1000:.0f} ms = {20000 / elapsed:,.0f} rows/s")
    assert client.query(f"SELECT count(), uniqExact(event_id), sum(vital_value) FROM {table}").first_row == (
        20100, 20000, float(sum(i % 5000 for i in range(100)) + sum(i % 5000 for i in range(20000))))


# ---------------------------------------------------------------------------- durability


def _fill(client, table: str, rows: int) -> None:
    client.command(f"CREATE TABLE IF NOT EXISTS {table} (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
    client.insert(table, [[i, f"s{i}"] for i in range(rows)], column_names=["n", "s"])


def test_data_survives_a_restart(tmp_path):
    with ClickHouseServer(tmp_path / "ch") as server:
        _fill(server.client(), "kept", 3000)
        assert server.stop() == 0  # SIGTERM: clean shutdown
        assert "stopped, data saved" in server.log_tail()
        server.start()
        assert server.client().query("SELECT count(), sum(n) FROM kept").first_row == (3000, sum(range(3000)))


def test_committed_inserts_survive_sigkill(tmp_path):
    with ClickHouseServer(tmp_path / "ch") as server:
        _fill(server.client(), "kept", 4000)
        server.kill()
        server.start()  # the same data directory opens again: the lock died with the process
        assert server.client().query("SELECT count(), sum(n) FROM kept").first_row == (4000, sum(range(4000)))


def test_second_server_on_the_same_data_is_refused_clearly(tmp_path):
    with ClickHouseServer(tmp_path / "ch"):
        second = ClickHouseServer(tmp_path / "ch", ready_timeout=30)
        with pytest.raises(RuntimeError) as caught:
            second.start()
        assert "in use by another process" in str(caught.value)


def test_busy_port_is_refused_clearly(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = ClickHouseServer(tmp_path / "ch", port=taken.getsockname()[1])
        with pytest.raises(RuntimeError) as caught:
            server.start()
    assert "cannot listen on" in str(caught.value) and "VIGIL_CLICKHOUSE_PORT" in str(caught.value)
    assert not (tmp_path / "ch" / "clickhouse").exists()  # the data directory was not even opened
