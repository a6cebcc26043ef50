"""The Data Quality page, run by Streamlit's AppTest in the app's frame against the real
warehouse (a private database): the pass rates it shows are the stored results', the failing
examples and the DLQ volume by reason are the stored ones, and the Data Docs are offered
once `vigil quality report` has built them; the collector's refusals are shown by project,
transport and reason next to the DLQ."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.warehouse.projects import create
from pipeline.settings import REPO_ROOT
from tests.support.alerts import empty, private_database

pytestmark = pytest.mark.integration

APP_DIR = REPO_ROOT / "app"
RESULT_COLUMNS = ["run_id", "run_at", "source", "suite", "suite_version", "expectation", "expectation_type",
                  "column", "row_condition", "success", "batch_rows", "element_count", "unexpected_count",
                  "unexpected_percent", "observed_value", "unexpected_sample", "exception"]
REFUSAL_COLUMNS = ["minute", "project_id", "transport", "reason", "unit", "refusals"]
DEAD_LETTER_COLUMNS = ["failed_at", "reason", "step", "path", "message", "project_id", "event_type", "event_id",
                       "source_topic", "source_partition", "source_offset", "record"]


@pytest.fixture(scope="module")
def database(clickhouse):
    return private_database(clickhouse, prefix="quality_page")


@pytest.fixture
def warehouse(database):
    """Four checked batches in the last hour — three expectations each, four failures among them —
    a check from two days ago, five dead letters (one recorded twice), and the collector's
    refusals: in the last hour, and two days ago."""
    _, client = database
    empty(client)
    shop = create(client, "shop")
    now = datetime.now(timezone.utc)
    results = []
    outcomes = {  # expectation → success per batch, oldest first
        "type_in_contract": (True, False, True, True),
        "event_id_unique_in_batch": (True, True, True, True),
        "lcp_plausible": (True, False, False, False),
    }
    for batch in range(4):
        run_id, run_at = uuid.uuid4(), now - timedelta(minutes=50 - 10 * batch)
        for expectation, successes in outcomes.items():
            ok = successes[batch]
            results.append([run_id, run_at, "processor", "events", 1, expectation, "expect_column_values_to_be_in_set",
                            "type" if expectation == "type_in_contract" else "vital_value", "", ok, 500, 500,
                            0 if ok else 2, 0.0 if ok else 0.4, "null",
                            "[]" if ok else ('["teleport", "warp"]' if expectation == "type_in_contract"
                                             else "[75000.0, 91000.0]"), ""])
    results.append([uuid.uuid4(), now - timedelta(days=2), "report", "events", 1, "type_in_contract",
                    "expect_column_values_to_be_in_set", "type", "", False, 500, 500, 9, 1.8, "null", '["old"]', ""])
    client.insert("quality_results", results, column_names=RESULT_COLUMNS)
    letters = [[now - timedelta(minutes=30), reason, step, "", "bad", 1, "", f"e{offset}", "vigil.events", 0, offset, "{}"]
               for offset, (reason, step) in enumerate([("invalid_json", "parse")] * 3 + [("contract", "validate")] * 2)]
    letters.append(letters[0])  # the processor is at-least-once: a drop may be recorded twice
    client.insert("dead_letters", letters, column_names=DEAD_LETTER_COLUMNS)
    minute = (now - timedelta(minutes=30)).replace(second=0, microsecond=0)
    client.insert("refusals_minute", [
        [minute, shop.id, "events", "wrong_key", "request", 2],
        [minute, shop.id, "events", "wrong_key", "request", 2],  # another worker's (or flush's) count
        [minute, shop.id, "events", "unknown_value", "event", 3],
        [minute + timedelta(minutes=1), 424242, "events", "unknown_project", "request", 1],
        [minute - timedelta(days=2), shop.id, "pixel", "rate_limited", "request", 50],
    ], column_names=REFUSAL_COLUMNS)
    return client


def frame(page: str) -> None:
    import main

    main.frame(default=f"views/{page}.py")


def quality_page(database, monkeypatch, tmp_path, **query_params: str) -> AppTest:
    settings, _ = database
    monkeypatch.setenv("VIGIL_CLICKHOUSE_URL", settings.clickhouse_url)
    monkeypatch.setenv("VIGIL_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("VIGIL_DASHBOARD_USERS", raising=False)
    monkeypatch.syspath_prepend(str(APP_DIR))
    app = AppTest.from_function(frame, args=("data_quality",), default_timeout=60)
    app.query_params.update(query_params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def table(app: AppTest, column: str):
    (found,) = [element.value for element in app.dataframe if column in element.value.columns]
    return found


def test_the_dashboard_lists_the_data_quality_page():
    assert '("views/data_quality.py", "Data quality", ' in (APP_DIR / "main.py").read_text()


def test_pass_rates_match_the_stored_results(database, warehouse, monkeypatch, tmp_path):
    app = quality_page(database, monkeypatch, tmp_path)

    rates = table(app, "pass_rate")
    shown = {row["expectation"]: (row["pass_rate"], row["checks"], row["passed"], row["unexpected"])
             for row in rates.to_dict("records")}
    assert shown == {"lcp_plausible": (0.25, 4, 1, 6), "type_in_contract": (0.75, 4, 3, 2),
                     "event_id_unique_in_batch": (1.0, 4, 4, 0)}
    assert list(rates["expectation"]) == ["lcp_plausible", "type_in_contract", "event_id_unique_in_batch"]
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Expectations checked": "12", "Pass rate": "66.7 %", "Failing expectations": "2",
                       "Dead letters": "5", "Refused requests": "5"}
    (chart,) = [c for c in app.get("plotly_chart") if "pass rate" in c.proto.spec]
    assert "events · lcp_plausible" in chart.proto.spec


def test_the_latest_failing_examples_show_the_offending_values(database, warehouse, monkeypatch, tmp_path):
    app = quality_page(database, monkeypatch, tmp_path)
    failures = table(app, "unexpected_sample")
    # newest first; the batch where both failed lists them by name
    assert list(failures["expectation"]) == ["lcp_plausible", "lcp_plausible", "lcp_plausible", "type_in_contract"]
    assert list(failures["unexpected_sample"]) == ['[75000.0, 91000.0]'] * 3 + ['["teleport", "warp"]']


def test_dead_letters_are_counted_by_reason_once_each(database, warehouse, monkeypatch, tmp_path):
    app = quality_page(database, monkeypatch, tmp_path)
    reasons = table(app, "drops")
    assert reasons[["reason", "step", "drops"]].to_dict("records") == [
        {"reason": "invalid_json", "step": "parse", "drops": 3}, {"reason": "contract", "step": "validate", "drops": 2}]


def test_the_collectors_refusals_are_shown_by_project_transport_and_reason(database, warehouse, monkeypatch,
                                                                          tmp_path):
    app = quality_page(database, monkeypatch, tmp_path)
    (shop,) = warehouse.query("SELECT id FROM projects FINAL").result_rows[0]
    assert table(app, "refusals").to_dict("records") == [
        {"project_id": shop, "project": "shop", "transport": "events", "reason": "wrong_key", "unit": "request",
         "refusals": 4},
        {"project_id": shop, "project": "shop", "transport": "events", "reason": "unknown_value", "unit": "event",
         "refusals": 3},
        {"project_id": 424242, "project": "", "transport": "events", "reason": "unknown_project",
         "unit": "request", "refusals": 1}]
    assert any(c for c in app.get("plotly_chart") if "refusals per" in c.proto.spec)

    app = quality_page(database, monkeypatch, tmp_path, range="7d")
    assert table(app, "refusals")["refusals"].tolist() == [50, 4, 3, 1]
    assert {metric.label: metric.value for metric in app.metric}["Refused requests"] == "55"


def test_a_longer_range_takes_in_the_older_check(database, warehouse, monkeypatch, tmp_path):
    app = quality_page(database, monkeypatch, tmp_path, range="7d")
    rates = table(app, "pass_rate")
    assert rates.set_index("expectation").loc["type_in_contract", "checks"] == 5
    assert {metric.label: metric.value for metric in app.metric}["Expectations checked"] == "13"


def test_the_data_docs_are_offered_once_built(database, warehouse, monkeypatch, tmp_path):
    app = quality_page(database, monkeypatch, tmp_path)
    assert any("No Data Docs yet: run `vigil quality report`" in info.value for info in app.info)

    site = tmp_path / "data_docs"
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text("<html>Data Docs</html>")
    (site / "validations" / "run.html").write_text("<html>run</html>")
    app = quality_page(database, monkeypatch, tmp_path)
    assert [code.value for code in app.code] == [str(site / "index.html")]
    (button,) = app.get("download_button")
    assert button.proto.label == "Download the Data Docs (zip)"

