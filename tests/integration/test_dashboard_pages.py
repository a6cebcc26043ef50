"""Every dashboard page, run by Streamlit's AppTest against the real warehouse: the numbers and
tables shown are the known answers of a small hand-made fixture, the global filters (kept in
the URL) change them as they should, the pages' own controls work (metric, breakdown, error
group, status, funnel steps, saving), nothing from event data is rendered as markdown, and
the login keeps strangers out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.queries import dashboard_users
from pipeline import queries
from pipeline.contract import vitals
from pipeline.warehouse.projects import create
from pipeline.settings import REPO_ROOT
from pipeline.queries import dashboard_state
from tests.support.shop_data import COLUMNS

pytestmark = pytest.mark.integration

APP_DIR = REPO_ROOT / "app"
BUG = "Cannot read properties of undefined (reading 'amount')"
HOSTILE = "**bold** <b>html</b> [link](https://evil.example) :red[red]"


# what a fixture row names; the rest (fingerprint, …) the warehouse's defaults fill
FIXTURE_COLUMNS = [name for name in COLUMNS if name != "fingerprint"]


class Rows:
    """Events of one project, each a full ``events`` row with the fields a test names."""

    def __init__(self, project_id: int, now: datetime) -> None:
        self.project_id, self.now, self.rows = project_id, now, []

    def add(self, minutes_ago: float, session: str, type: str, **fields: Any) -> None:
        row: dict[str, Any] = {name: "" for name in FIXTURE_COLUMNS}
        row.update(project_id=self.project_id, type=type, event_id=uuid.uuid4().hex, session_id=session,
                   visitor_id=fields.pop("visitor", "v-" + session), timestamp=self.now - timedelta(minutes=minutes_ago),
                   received_at=self.now, tags={}, vital_value=0.0, duration_ms=0.0, http_status=0,
                   release="shop@1.0", environment="production", browser="Chrome", os="Android", device="mobile",
                   country="DE", data="{}")
        data = fields.pop("data", None)
        if data is not None:
            row["data"] = orjson.dumps(data).decode()
        row.update(fields)
        self.rows.append([row[name] for name in FIXTURE_COLUMNS])

    def page(self, minutes_ago: float, session: str, path: str, **fields: Any) -> None:
        fields.setdefault("url", f"https://shop.example.com{path}")
        self.add(minutes_ago, session, "page_view", path=path, **fields)

    def vital(self, minutes_ago: float, session: str, name: str, value: float, **fields: Any) -> None:
        """A measurement with the rating the processor stores (``rows.event_row``: the contract's)."""
        self.add(minutes_ago, session, "web_vital", vital_name=name, vital_value=value,
                 vital_rating=vitals.rate(name, value), **fields)


@pytest.fixture(scope="module")
def shop(clickhouse):
    """One project with a known half hour; see each test for the answers it implies."""
    client = clickhouse.client()
    project = create(client, f"pages-{uuid.uuid4().hex[:6]}")
    rows = Rows(project.id, datetime.now(timezone.utc))
    mobile = {"device": "mobile", "browser": "Chrome", "os": "Android", "country": "DE"}
    desktop = {"device": "desktop", "browser": "Firefox", "os": "Windows", "country": ""}
    # s1 (mobile, from Google): home → product → cart → purchase, on the buggy release
    rows.page(20, "s1", "/", referrer="https://www.google.com/", referrer_source="Google", **mobile)
    rows.page(19, "s1", "/p/1-kettle", **mobile)
    rows.page(18, "s1", "/cart", **mobile)
    rows.add(17, "s1", "custom", name="purchase", path="/checkout/confirmation", **mobile)
    # s2 (mobile, newsletter campaign): home → product, then leaves
    rows.page(15, "s2", "/", url="https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
              referrer_source="newsletter", utm_source="newsletter", utm_medium="email", utm_campaign="spring", **mobile)
    rows.page(14, "s2", "/p/2-lamp", **mobile)
    # s3 (desktop, direct): home only — a bounce
    rows.page(12, "s3", "/", referrer_source="Direct / None", **desktop)
    # s4 (desktop): product → cart, never home
    rows.page(10, "s4", "/p/3-towel", referrer_source="Direct / None", **desktop)
    rows.page(9, "s4", "/cart", **desktop)
    # Web Vitals: LCP on / (mobile) 1000–4000, on /cart (desktop) 500, 700
    for session, value in (("s1", 1000), ("s2", 2000), ("s1", 3000), ("s2", 4000)):
        rows.vital(16, session, "LCP", value, path="/", target="main img.hero", **mobile)
    for value in (500, 700):
        rows.vital(9, "s4", "LCP", value, path="/cart", target="main h1", **desktop)
    rows.vital(12, "s3", "LOAD", 1800, path="/", **desktop,
               data={"name": "LOAD", "value": 1800, "breakdown": {"dns": 10, "tcp": 20, "request": 100, "dom": 300}})
    for duration in (100, 200, 300):
        rows.add(12, "s3", "resource", path="/", http_url="https://cdn.example.com/app.js", duration_ms=duration,
                 data={"name": "https://cdn.example.com/app.js", "initiator_type": "script", "duration": duration,
                       "transfer_size": 1000}, **desktop)
    # errors: the price bug 3× on s1/s2 (two visitors), one failed API call on s4
    crumbs = [{"timestamp": "2026-01-01T00:00:00.000Z", "category": "navigation", "message": "→ /p/1-kettle"},
              {"timestamp": "2026-01-01T00:00:01.000Z", "category": "ui.click", "message": HOSTILE}]
    bug = {"kind": "js", "type": "TypeError", "message": BUG, "stack": f"TypeError: {BUG}\n    at formatPrice (product.js:1:48213)",
           "frames": [{"function": "formatPrice", "filename": "https://cdn.example.com/product.js", "lineno": 1,
                       "colno": 48213, "in_app": True}], "breadcrumbs": crumbs}
    for minutes_ago, session in ((19, "s1"), (18.5, "s1"), (14, "s2")):
        rows.add(minutes_ago, session, "error", error_kind="js", error_type="TypeError", error_message=BUG,
                 path="/p/1-kettle", release="shop@2.5.0", data=bug, **mobile)
    rows.add(9, "s4", "error", error_kind="api", error_type="HttpError", error_message="GET /api/cart → 503",
             path="/cart", data={"kind": "api", "message": "GET /api/cart → 503"}, **desktop)
    # API calls: GET /api/cart 3× ok (100, 120, 140 ms) and once 503 (900 ms)
    for duration, status, failure in ((100, 200, ""), (120, 200, ""), (140, 200, ""), (900, 503, "status")):
        rows.add(9, "s4", "api_call", path="/cart", http_method="GET", http_url="https://shop.example.com/api/cart",
                 url="https://shop.example.com/cart", http_status=status, duration_ms=duration,
                 data={"method": "GET", "url": "https://shop.example.com/api/cart", "status": status,
                       "duration": duration, **({"failure": failure} if failure else {})}, **desktop)
    # behaviour: time on page, clicks, a form
    profile = {"s1": mobile, "s2": mobile, "s3": desktop, "s4": desktop}
    for session, path, seconds in (("s1", "/", 30), ("s2", "/", 50), ("s3", "/", 10), ("s1", "/cart", 20)):
        rows.add(11, session, "time_on_page", path=path, duration_ms=seconds * 1000.0, **profile[session])
    for session in ("s1", "s2", "s1"):
        rows.add(13, session, "click", path="/p/1-kettle", target="button#add-to-cart", click_text="Add to cart",
                 data={"selector": "button#add-to-cart", "text": "Add to cart"}, **mobile)
    rows.add(8, "s4", "form_submit", path="/cart", target="coupon", **desktop)
    client.insert("events", rows.rows, column_names=FIXTURE_COLUMNS)
    return project


def frame(page: str) -> None:
    """The app's own frame (login, navigation, sidebar) with ``page`` as the page it opens on:
    AppTest's switch_page does not draw an st.navigation app's frame on other pages."""
    import main

    main.frame(default=f"views/{page}.py")


def page_test(clickhouse, monkeypatch, page: str) -> AppTest:
    for name, value in clickhouse.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(APP_DIR))  # as `streamlit run app/main.py` makes it importable
    return AppTest.from_function(frame, args=(page,), default_timeout=60)


def run_page(clickhouse, monkeypatch, page: str, **query_params: str) -> AppTest:
    monkeypatch.delenv("VIGIL_DASHBOARD_USERS", raising=False)
    app = page_test(clickhouse, monkeypatch, page)
    app.query_params.update(query_params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def tables(app: AppTest) -> list[pd.DataFrame]:
    return [element.value for element in app.dataframe]


def frame_with(app: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page that has ``column``."""
    return next(frame for frame in tables(app) if column in frame.columns)


def assert_nothing_interpreted(app: AppTest) -> None:
    assert all(not element.proto.allow_html for element in app.markdown)
    assert not any(HOSTILE in element.value for element in app.markdown), "event data reached markdown"


# ── Web Vitals ───────────────────────────────────────────────────────────────────────────


def test_web_vitals_show_the_fixture_percentiles_and_shares(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "web_vitals", project=str(shop.id))
    # LCP 500, 700, 1000, 2000, 3000, 4000: p50 1500, p75 2750, p95 3750 (linear); 4 of 6 ≤ 2.5 s
    assert metrics(app) == {"p50": "1.50 s", "p75": "2.75 s", "p95": "3.75 s", "Measurements": "6",
                            "Good": "66.7 %", "Needs improvement": "33.3 %", "Poor": "0.0 %"}
    assert any("Needs improvement" in m.value for m in app.markdown if "-badge[" in m.value)
    by_route = frame_with(app, "value").set_index("value")
    assert by_route.loc["/", "samples"] == 4 and by_route.loc["/", "p75"] == 3250
    assert by_route.loc["/cart", "samples"] == 2 and by_route.loc["/cart", "p75"] == 650
    blamed = frame_with(app, "target").set_index("target")
    assert blamed.loc["main img.hero", "samples"] == 4 and blamed.loc["main h1", "p75"] == 650


def test_the_details_picker_shows_one_drill_down_at_a_time(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "web_vitals", project=str(shop.id), details="Slowest resources")
    resources = frame_with(app, "resource")
    assert resources.to_dict("records")[0] == {"resource": "https://cdn.example.com/app.js", "initiator": "script",
                                               "loads": 3, "p50": 200.0, "p75": 250.0, "transfer_size": 1000}
    assert not any("target" in frame.columns for frame in tables(app))
    app.segmented_control(key="details").set_value("Navigation timing").run()
    waterfall = next(c for c in app.get("plotly_chart") if "navigation_waterfall" in c.proto.id)
    bars = orjson.loads(waterfall.proto.spec)["data"][0]
    assert bars["y"] == ["dns", "tcp", "request", "dom"] and bars["base"] == [0, 10, 30, 130]


def test_a_device_filter_in_the_url_narrows_the_vitals(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "web_vitals", project=str(shop.id), device="mobile")
    # mobile LCP: 1000, 2000, 3000, 4000 → p75 3250, half of them good
    assert metrics(app)["p75"] == "3.25 s" and metrics(app)["Good"] == "50.0 %"
    assert app.selectbox(key="device").value == "mobile"
    app.selectbox(key="device").select("desktop").run()
    assert metrics(app)["p75"] == "650 ms" and metrics(app)["Measurements"] == "2"


def test_the_breakdown_and_metric_pickers_change_the_tables(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "web_vitals", project=str(shop.id), breakdown="Country")
    countries = frame_with(app, "value").set_index("value")
    assert countries.loc["DE", "samples"] == 4 and countries.loc["(unknown)", "samples"] == 2
    app.segmented_control(key="vital").set_value("LOAD").run()
    assert metrics(app)["p75"] == "1.80 s" and metrics(app)["Measurements"] == "1"
    app.segmented_control(key="vital").set_value("INP").run()
    assert any("No INP measurements" in info.value for info in app.info)


# ── Errors ───────────────────────────────────────────────────────────────────────────────


def error_group_id(clickhouse, project_id: int, message: str) -> str:
    return clickhouse.client().command(
        "SELECT lower(hex(any(fingerprint))) FROM events WHERE project_id = {p:UInt32} AND error_message = {m:String}",
        parameters={"p": project_id, "m": message})


def test_errors_list_the_groups_with_their_counts(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "errors", project=str(shop.id))
    groups = frame_with(app, "error")
    assert groups[["error", "events", "visitors", "status"]].to_dict("records") == [
        {"error": f"TypeError: {BUG}", "events": 3, "visitors": 2, "status": "unresolved"},
        {"error": "HttpError: GET /api/cart → 503", "events": 1, "visitors": 1, "status": "unresolved"},
    ]
    assert [sum(trend) for trend in groups["trend"]] == [3, 1]
    endpoints = frame_with(app, "endpoint")
    assert endpoints.to_dict("records")[0] == {
        "method": "GET", "endpoint": "/api/cart", "calls": 4, "failures": 1, "failure_rate": 0.25,
        "p50": 130.0, "p75": pytest.approx(330.0), "p95": pytest.approx(786.0)}
    failures = next(f for f in tables(app) if "failure" in f.columns and "status" in f.columns)
    assert failures.to_dict("records") == [{"method": "GET", "endpoint": "/api/cart", "status": 503,
                                            "failure": "status", "calls": 1}]


def test_a_browser_filter_leaves_only_its_errors(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "errors", project=str(shop.id), browser="Firefox")
    assert frame_with(app, "error")["error"].tolist() == ["HttpError: GET /api/cart → 503"]


def test_an_error_group_drills_down_and_can_be_resolved(clickhouse, monkeypatch, shop):
    group = error_group_id(clickhouse, shop.id, BUG)
    app = run_page(clickhouse, monkeypatch, "errors", project=str(shop.id), group=group)
    assert f"TypeError: {BUG}" in [text.value for text in app.text]
    frames = frame_with(app, "function")
    assert frames.to_dict("records") == [{"function": "formatPrice", "filename": "https://cdn.example.com/product.js",
                                          "lineno": 1, "colno": 48213, "in_app": True}]
    assert any("at formatPrice" in code.value for code in app.code)
    crumbs = frame_with(app, "category")
    assert crumbs["message"].tolist() == ["→ /p/1-kettle", HOSTILE]  # shown as text, not markdown
    assert_nothing_interpreted(app)
    releases = next(f for f in tables(app) if "share" in f.columns and "shop@2.5.0" in set(f["value"]))
    assert releases.to_dict("records") == [{"value": "shop@2.5.0", "events": 3, "share": 1.0}]
    assert len(frame_with(app, "session_id")) == 3
    app.button(key="status_resolved").click().run()
    assert not app.exception
    assert "Status: Resolved" in [caption.value for caption in app.caption]
    statuses = dict(queries.error_groups(clickhouse.client(), queries.Filters.last_minutes(
        shop.id, timedelta(hours=1))).select("error_group", "status").iter_rows())
    assert statuses[group] == "resolved"
    app.button(key="status_unresolved").click().run()
    assert "Status: Unresolved" in [caption.value for caption in app.caption]


# ── Funnels ──────────────────────────────────────────────────────────────────────────────


def test_the_funnel_counts_the_fixture_sessions(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "funnels", project=str(shop.id))
    app.text_area(key="steps").input("page /\npage /p/*\npage /cart\nevent purchase").run()
    # s1, s2, s3 start at home; s1, s2 reach a product; only s1 the cart and the purchase
    assert metrics(app) == {"Entered (sessions)": "3", "Completed": "1", "Conversion": "33.3 %"}
    steps = frame_with(app, "step_conversion")
    assert steps["units"].tolist() == [3, 2, 1, 1] and steps["dropped"].tolist() == [0, 1, 1, 0]
    assert steps["label"].tolist() == ["/", "/p/*", "/cart", "purchase"]


def test_filters_and_breakdowns_change_the_funnel(clickhouse, monkeypatch, shop):
    steps = "page /\npage /p/*"
    app = run_page(clickhouse, monkeypatch, "funnels", project=str(shop.id), steps=steps, device="mobile")
    assert metrics(app) == {"Entered (sessions)": "2", "Completed": "2", "Conversion": "100.0 %"}
    app = run_page(clickhouse, monkeypatch, "funnels", project=str(shop.id), steps=steps, funnel_breakdown="Device")
    by_device = frame_with(app, "segment")
    assert by_device[["segment", "step", "units"]].values.tolist() == [
        ["desktop", 1, 1], ["desktop", 2, 0], ["mobile", 1, 2], ["mobile", 2, 2]]


def test_a_funnel_is_saved_and_bad_steps_are_explained(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "funnels", project=str(shop.id))
    app.text_area(key="steps").input("page /\nevent purchase").run()
    app.text_input(key="funnel_name").input("Home to purchase").run()
    app.button(key="save_funnel").click().run()
    saved = dashboard_state.saved_funnels(clickhouse.client(), shop.id)
    assert [step.match for step in saved["Home to purchase"].steps] == ["/", "purchase"]
    app.text_area(key="steps").input("page /\nvisit /cart").run()
    assert any("line 2" in error.value for error in app.error)


# ── Traffic ──────────────────────────────────────────────────────────────────────────────


def test_traffic_shows_the_fixture_visits(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "traffic", project=str(shop.id))
    # 8 page views in 4 sessions of 4 visitors; s3 bounced; pages per session 2.0
    shown = metrics(app)
    assert (shown["Page views"], shown["Unique visitors"], shown["Active sessions"]) == ("8", "4", "4")
    assert (shown["Pages per session"], shown["Bounce rate"]) == ("2.00", "25.0 %")
    top = frame_with(app, "page_views")
    assert top.iloc[0].to_dict() == {"path": "/", "page_views": 3, "visitors": 3}
    entries = next(f for f in tables(app) if "page" in f.columns and "bounce_rate" in f.columns)
    assert dict(zip(entries["page"], entries["sessions"])) == {"/": 3, "/p/3-towel": 1}
    sources = next(f for f in tables(app) if set(f.columns) == {"source", "sessions", "bounce_rate"})
    assert dict(zip(sources["source"], sources["sessions"])) == {"Direct / None": 2, "Google": 1, "newsletter": 1}
    campaigns = frame_with(app, "campaign")
    assert campaigns[["source", "medium", "campaign", "sessions"]].values.tolist() == [["newsletter", "email", "spring", 1]]
    dwell = frame_with(app, "median_s")
    assert dwell.iloc[0].to_dict() == {"path": "/", "views": 3, "median_s": 30.0, "p75_s": 40.0}
    clicks = frame_with(app, "clicks")
    assert clicks.to_dict("records") == [{"target": "button#add-to-cart", "text": "Add to cart", "href": "", "clicks": 3,
                                          "visitors": 2}]
    assert frame_with(app, "submits").to_dict("records") == [{"form": "coupon", "submits": 1, "sessions": 1,
                                                              "visitors": 1}]


def test_a_country_filter_changes_the_traffic(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "traffic", project=str(shop.id), country="unknown")
    shown = metrics(app)
    # the desktop visitors have no country: s3 and s4, 3 page views, s3 bounced
    assert (shown["Page views"], shown["Active sessions"], shown["Bounce rate"]) == ("3", "2", "50.0 %")
    app = run_page(clickhouse, monkeypatch, "traffic", project=str(shop.id), route="/p/*")
    assert metrics(app)["Page views"] == "3"


# ── login ────────────────────────────────────────────────────────────────────────────────


def test_configured_users_must_sign_in(clickhouse, monkeypatch, shop, tmp_path):
    users = tmp_path / "users"
    users.write_text(f"# dashboard users\nana:{dashboard_users.hash_password('correct horse')}\n")
    monkeypatch.setenv("VIGIL_DASHBOARD_USERS", str(users))
    app = page_test(clickhouse, monkeypatch, "traffic")
    monkeypatch.setattr("login.FAILED_LOGIN_DELAY_S", 0.0)
    app.query_params["project"] = str(shop.id)
    app.run()
    assert not app.metric and app.text_input(key="vigil_login_password")
    app.text_input(key="vigil_login_name").input("ana")
    app.text_input(key="vigil_login_password").input("wrong")
    app.button[0].click().run()
    assert [error.value for error in app.error] == ["Wrong user name or password."] and not app.metric
    app.text_input(key="vigil_login_password").input("correct horse")
    app.button[0].click().run()
    assert not app.exception
    assert metrics(app)["Page views"] == "8"
    assert "ana" in [text.value for text in app.sidebar.text]


def test_oidc_when_configured_shows_its_login_and_nothing_else(clickhouse, monkeypatch, shop):
    monkeypatch.delenv("VIGIL_DASHBOARD_USERS", raising=False)
    app = page_test(clickhouse, monkeypatch, "overview")
    app.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                           "client_id": "vigil", "client_secret": "s",
                           "server_metadata_url": "https://id.example.com/.well-known/openid-configuration"}
    app.query_params["project"] = str(shop.id)
    app.run()
    assert not app.exception
    assert [button.label for button in app.button] == ["Log in"]
    assert not app.metric


def test_without_login_the_sidebar_says_the_dashboards_are_open(clickhouse, monkeypatch, shop):
    app = run_page(clickhouse, monkeypatch, "overview", project=str(shop.id))
    assert any("No login configured" in caption.value for caption in app.sidebar.caption)



