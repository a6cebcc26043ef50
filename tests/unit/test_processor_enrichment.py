"""The enrichment steps alone — bots, visitor ids, IP anonymisation, routes, error groups —
including hostile input, and how a filtered bot leaves the stream (counted, no dead letter)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from pipeline import contract
from pipeline.processor import bots, fingerprints, pii, routes, steps, visitors
from pipeline.processor.app import processor_steps
from pipeline.processor.batches import process
from pipeline.processor.counters import Counters
from pipeline.processor.steps import Dropped, Options
from tests.unit.test_processor_steps import CHROME_WINDOWS, message

HEADLESS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/138.0.0.0 "
            "Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SECRET = b"s" * 32


OPTIONS = Options(secret=SECRET)  # known options, passed to every step that reads them
STEPS = steps.steps_for(OPTIONS)
PROCESSOR = processor_steps(OPTIONS)  # the steps, then to_row


def enriched(**overrides) -> dict:
    """One message through every step up to (not including) the ones under test."""
    event = steps.run(orjson.dumps(message(**overrides)), steps=STEPS[:6])
    assert isinstance(event, dict), event
    return event


def js_error(message_text: str = "Cannot read properties of undefined (reading 'price')", **data) -> dict:
    return {"kind": "js", "type": "TypeError", "message": message_text,
            "frames": [{"function": "priceOf", "filename": "https://cdn.example/js/app.3f9a1c.js?v=2", "in_app": True},
                       {"function": "checkout", "filename": "https://cdn.example/js/app.3f9a1c.js", "in_app": True},
                       {"function": "dispatch", "filename": "https://cdn.example/js/vendor.js", "in_app": False}],
            **data}


# ── drop_bots ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("user_agent", [
    GOOGLEBOT,
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/138.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "",
    "   ",
])
def test_drop_bots_drops_crawlers_monitors_and_an_empty_user_agent(user_agent):
    event = enriched(client={"ip": "203.0.113.9", "user_agent": user_agent})
    dropped = steps.drop_bots(event, OPTIONS)
    assert isinstance(dropped, Dropped) and (dropped.reason, dropped.path) == ("bot", "client.user_agent")


@pytest.mark.parametrize("user_agent", [
    CHROME_WINDOWS,
    "Mozilla/5.0 (Linux; Android 10; CUBOT NOTE 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0 Mobile Safari/537.36",
    "python-httpx/0.28.1",  # a backend forwarding its users' events, or a test harness
    "curl/8.0",
])
def test_drop_bots_keeps_browsers_and_http_libraries(user_agent):
    event = enriched(client={"ip": "203.0.113.9", "user_agent": user_agent})
    assert steps.drop_bots(event, OPTIONS) is event


def test_headless_browsers_are_kept_unless_configured_away():
    assert steps.drop_bots(enriched(client={"ip": "203.0.113.9", "user_agent": HEADLESS}), OPTIONS)["browser"] == "HeadlessChrome"
    dropped = steps.drop_bots(enriched(client={"ip": "203.0.113.9", "user_agent": HEADLESS}),
                              Options(drop_headless=True, secret=SECRET))
    assert dropped.reason == "bot" and "VIGIL_DROP_HEADLESS" in dropped.message


@pytest.mark.parametrize("user_agent", ["Mozilla/5.0 (" * 1000, "x" * 1_000_000, "\x00\x01bot\x02", "🤖" * 600,
                                        "Mozilla/5.0 \udcff HeadlessChrome"])
def test_drop_bots_survives_hostile_user_agents(user_agent):
    event = steps.put_user_agent(message(client={"ip": "203.0.113.9", "user_agent": user_agent}))
    outcome = steps.drop_bots(event, OPTIONS)
    assert outcome is event or outcome.reason == "bot"


def test_is_bot_and_is_headless_alone():
    assert bots.is_headless(HEADLESS) and not bots.is_headless(CHROME_WINDOWS)
    assert bots.is_bot(GOOGLEBOT, "bot") and bots.is_bot("Pingdom.com_bot_version_1.4", "other")
    assert not bots.is_bot(CHROME_WINDOWS, "desktop")


def test_a_bot_is_counted_but_not_dead_lettered():
    counters = Counters()
    outcome = process(orjson.dumps(message(client={"ip": "203.0.113.9", "user_agent": GOOGLEBOT})),
                      PROCESSOR, counters=counters)
    assert (outcome.row, outcome.dead_letter) == (None, None)
    assert counters.dropped == {"bot": 1} and counters.kept == 0


def test_invalid_input_still_goes_to_the_dead_letter_topic():
    outcome = process(orjson.dumps(message(type="teleport")), PROCESSOR, counters=Counters())
    assert outcome.dead_letter is not None and outcome.row is None


# ── put_visitor_id ───────────────────────────────────────────────────────────────────────


def test_an_anonymous_visitor_gets_a_stable_cookieless_id_for_the_day():
    first = steps.put_visitor_id(enriched(visitor_id="anon_0b6e2d94c7a1"), OPTIONS)
    again = steps.put_visitor_id(enriched(visitor_id="anon_ffff2d94c7a1"), OPTIONS)  # the next page load
    assert first["visitor_id"] == again["visitor_id"]
    assert first["visitor_id"].startswith("c_") and len(first["visitor_id"]) == 18


@pytest.mark.parametrize("change", [
    {"client": {"ip": "203.0.113.10", "user_agent": CHROME_WINDOWS}},
    {"client": {"ip": "203.0.113.9", "user_agent": CHROME_WINDOWS + " Edg/126.0"}},
    {"project_id": 8},
])
def test_another_ip_user_agent_or_project_is_another_visitor(change):
    base = steps.put_visitor_id(enriched(visitor_id="anon_0b6e2d94c7a1"), OPTIONS)
    other = steps.put_visitor_id(enriched(visitor_id="anon_0b6e2d94c7a1", **change), OPTIONS)
    assert base["visitor_id"] != other["visitor_id"]


def test_the_salt_rotates_daily_and_depends_on_the_secret():
    today = steps.put_visitor_id(enriched(visitor_id="anon_0b6e2d94c7a1"), OPTIONS)["visitor_id"]
    tomorrow_event = enriched(visitor_id="anon_0b6e2d94c7a1")
    tomorrow_event["received_at"] += timedelta(days=1)
    assert steps.put_visitor_id(tomorrow_event, OPTIONS)["visitor_id"] != today
    assert steps.put_visitor_id(enriched(visitor_id="anon_0b6e2d94c7a1"),
                                Options(secret=b"another secret"))["visitor_id"] != today


def test_a_replayed_message_gets_the_same_id():
    raw = orjson.dumps(message(visitor_id="anon_0b6e2d94c7a1"))
    assert steps.run(raw, STEPS)["visitor_id"] == steps.run(raw, STEPS)["visitor_id"]


def test_a_stored_visitor_id_is_kept():
    assert steps.put_visitor_id(enriched(), OPTIONS)["visitor_id"] == "v_0b6e2d94c7a1f3"


def test_the_secret_is_generated_once_and_kept(tmp_path: Path):
    first = visitors.load_secret("", tmp_path)
    assert len(first) == 64 and visitors.load_secret("", tmp_path) == first
    assert (tmp_path / visitors.SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert visitors.load_secret("configured", tmp_path) == b"configured"


def test_the_visitor_hash_survives_hostile_text():
    salt = visitors.daily_salt(SECRET, datetime(2026, 6, 15, tzinfo=timezone.utc).date())
    assert visitors.visitor_id(salt, "\udcff" + "x" * 100_000, "", 1).startswith("c_")


# ── anonymize_ip ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("ip, network", [
    ("203.0.113.9", "203.0.113.0"),
    ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
    ("::ffff:198.51.100.77", "198.51.100.0"),
    ("fe80::1%eth0", "fe80::"),
    ("not an ip", ""),
    ("1" * 10_000, ""),
])
def test_anonymize_ip_keeps_only_the_network(ip, network):
    event = steps.put_client_ip(message(client={"ip": ip, "user_agent": CHROME_WINDOWS}))
    assert steps.anonymize_ip(event, OPTIONS)["client_ip"] == network


def test_anonymize_ip_can_be_turned_off():
    assert steps.anonymize_ip(steps.put_client_ip(message()), Options(keep_full_ip=True, secret=SECRET))[
        "client_ip"] == "203.0.113.9"


def test_the_visitor_id_is_hashed_from_the_whole_address():
    """Two addresses of one /24 are two visitors: the id is computed before anonymisation."""
    ids = {steps.run(orjson.dumps(message(visitor_id="anon_0b6e2d94c7a1",
                                          client={"ip": ip, "user_agent": CHROME_WINDOWS})), STEPS)["visitor_id"]
           for ip in ("203.0.113.9", "203.0.113.10")}
    assert len(ids) == 2


# ── put_page's routes ────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("path, route", [
    ("/orders/8412/items/3", "/orders/:id/items/:id"),
    ("/u/3f2b8c9e-1b2c-4d5e-8f90-1234567890ab/settings", "/u/:id/settings"),
    ("/commit/9fceb02d0ae598e95dc970b74767f19372d61af8", "/commit/:id"),
    ("/t/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/t/:id"),  # a ULID
    ("/p/1042-linen-throw", "/p/1042-linen-throw"),  # a slug keeps its words
    ("/sale/summer-2024", "/sale/summer-2024"),
    ("/abcdefabcdefabcdefab", "/abcdefabcdefabcdefab"),  # long, but no digit: a word
    ("/", "/"),
    ("", ""),
    ("/v2/api", "/v2/api"),
])
def test_route_of_masks_id_like_segments(path, route):
    assert routes.route_of(path) == route


@pytest.mark.parametrize("url", ["https://x.example/" + "1/" * 100_000, "https://x.example/%ff%fe/\udcff/42",
                                 "http://[::1/7", "https://x.example/" + "a" * 1_000_000])
def test_put_page_survives_hostile_urls(url):
    path = steps.put_page(message(page={"url": url}))["path"]
    assert type(path) is str and len(path) <= 2 * routes.MAX_PATH_CHARS


# ── put_fingerprint ──────────────────────────────────────────────────────────────────────


def fingerprint_of(data: dict) -> int:
    return steps.put_fingerprint({"type": "error", "data": data})["fingerprint"]


def test_other_events_have_no_fingerprint():
    assert steps.put_fingerprint(enriched())["fingerprint"] == 0


def test_the_same_bug_is_one_group_across_occurrences_and_deploys():
    first = js_error("Order 8412 failed: 'sku-1' at https://shop.example/api/orders/8412?x=1 (0x1f3a)")
    again = js_error("Order 77 failed: 'sku-2' at https://shop.example/api/orders/77 (0xbeef)")
    for frame in again["frames"]:
        frame["filename"] = frame["filename"].replace("3f9a1c", "8c1e2f")  # the next release's bundle
    assert fingerprint_of(first) == fingerprint_of(again)


@pytest.mark.parametrize("change", [
    {"type": "RangeError"},
    {"kind": "promise"},
    {"message": "Cannot read properties of null (reading 'price')"},
])
def test_another_type_kind_or_message_is_another_group(change):
    assert fingerprint_of(js_error()) != fingerprint_of({**js_error(), **change})


def test_only_the_top_three_in_app_frames_count():
    base = js_error()
    other_library_frame = copy.deepcopy(base)
    other_library_frame["frames"][2]["function"] = "somethingElse"  # not in-app
    deeper = copy.deepcopy(base)
    deeper["frames"] += [{"function": f"f{i}", "filename": "https://cdn.example/js/app.js", "in_app": True}
                         for i in range(5)]
    other_caller = copy.deepcopy(base)
    other_caller["frames"][1]["function"] = "refund"
    assert fingerprint_of(base) == fingerprint_of(other_library_frame)
    assert fingerprint_of(base) != fingerprint_of(deeper)  # a fourth in-app frame is not the third
    assert fingerprint_of(base) != fingerprint_of(other_caller)


def test_without_in_app_frames_the_top_frames_count():
    library_only = [{"function": "a", "filename": "https://cdn/x.js"}, {"function": "b", "filename": "https://cdn/y.js"}]
    assert fingerprint_of(js_error(frames=library_only)) != fingerprint_of(js_error(frames=library_only[1:]))


def test_the_sdks_fingerprint_overrides_and_can_extend_the_default():
    custom = fingerprint_of(js_error(fingerprint=["checkout", "price"]))
    assert custom == fingerprint_of(js_error("something else entirely", fingerprint=["checkout", "price"]))
    assert custom != fingerprint_of(js_error())
    extended = fingerprint_of(js_error(fingerprint=["{{ default }}", "tenant-a"]))
    assert extended != fingerprint_of(js_error()) and extended != fingerprint_of(js_error(fingerprint=["tenant-a"]))
    assert extended != fingerprint_of(js_error("other", fingerprint=["{{ default }}", "tenant-a"]))


def test_fingerprints_fit_the_uint64_column():
    assert 0 < fingerprint_of(js_error()) < 2**64


@pytest.mark.parametrize("data", [
    {"kind": "js", "message": "x" * 100_000},
    {"kind": "js", "message": "\udcff\x00" * 1000, "frames": "garbage"},
    {"kind": "js", "message": "'" * 10_000 + "1" * 10_000},
    {"kind": "js", "message": "m", "frames": [None, 42, {"function": 7, "filename": ["x"]}, {"in_app": "yes"}]},
    {"kind": "js", "message": "m", "fingerprint": [1, 2]},  # not strings: the default applies
    {"kind": "api", "message": "m", "fingerprint": []},
])
def test_fingerprint_survives_hostile_error_data(data):
    assert 0 < fingerprint_of(data) < 2**64


def test_message_normalisation():
    assert fingerprints.normalise_message(
        'Order 8412 failed at "https://x/a?id=3" 0xDEADbeef 3f2b8c9e-1b2c-4d5e-8f90-1234567890ab see https://a.b/c?d=1'
    ) == "Order <n> failed at <str> <hex> <uuid> see <url>"
    assert fingerprints.frame_file("https://cdn.example/static/js/app.3f9a1c.js?v=2#x") == "/static/js/app.<hash>.js"


def test_an_error_through_every_step_has_its_group():
    event = steps.run(orjson.dumps(message(type="error", data=js_error())), STEPS)
    assert event["fingerprint"] == fingerprints.fingerprint(js_error())


# ── scrub_pii ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("text, scrubbed", [
    ("https://x.example/reset?token=abc123&to=ann@example.com", "https://x.example/reset?token=[redacted]&to=[email]"),
    ("https://x.example/?api_key=k1&Password=p&monkey=1&pass=hunter2", "https://x.example/?api_key=[redacted]&Password=[redacted]&monkey=1&pass=[redacted]"),
    ("https://x.example/cb#access_token=zz&session=s", "https://x.example/cb#access_token=[redacted]&session=[redacted]"),
    ("https://x.example/?utm_source=mail&token=[Filtered]", "https://x.example/?utm_source=mail&token=[Filtered]"),  # the SDK's marker stays
    ("Card 4111 1111 1111 1111 declined", "Card [card] declined"),
    ("charge 5500-0000-0000-0004 failed", "charge [card] failed"),
    ("order 1234567890123 at 1718452800000", "order 1234567890123 at 1718452800000"),  # not Luhn-valid: stays
    ("no personal data here", "no personal data here"),
])
def test_scrub_replaces_emails_secrets_and_cards(text, scrubbed):
    assert pii.scrub(text) == scrubbed


def test_scrub_pii_cleans_urls_messages_stacks_and_frames():
    data = js_error("Failed for ann@example.com with card 4111111111111111",
                    stack="Error: at https://x.example/app.js?token=t1", breadcrumbs=[
                        {"category": "fetch", "message": "GET /api?key=k2", "timestamp": "2026-06-15T12:00:00Z"}])
    data["frames"][0]["filename"] = "https://x.example/app.js?sid=s9"
    event = steps.run(orjson.dumps(message(type="error", data=data, page={
        "url": "https://x.example/u/ann@example.com?session=abc", "referrer": "https://mail.example/?auth=zz"})), STEPS)
    assert event["page"] == {"url": "https://x.example/u/[email]?session=[redacted]",
                             "referrer": "https://mail.example/?auth=[redacted]"}
    assert event["path"] == "/u/[email]"
    assert event["data"]["message"] == "Failed for [email] with card [card]"
    assert event["data"]["stack"] == "Error: at https://x.example/app.js?token=[redacted]"
    assert event["data"]["frames"][0]["filename"] == "https://x.example/app.js?sid=[redacted]"
    assert event["data"]["breadcrumbs"][0]["message"] == "GET /api?key=[redacted]"


def test_scrub_pii_cleans_api_and_resource_urls():
    call = steps.scrub_pii(enriched(type="api_call", data={"method": "GET", "url": "https://x.example/a?token=t"}))
    assert call["data"]["url"] == "https://x.example/a?token=[redacted]"
    failed = steps.scrub_pii(enriched(type="error", data={"kind": "api", "message": "m", "request": {
        "method": "GET", "url": "https://x.example/a?password=p"}}))
    assert failed["data"]["request"]["url"] == "https://x.example/a?password=[redacted]"


def test_scrub_pii_cleans_a_clicks_text_and_href():
    click = steps.scrub_pii(enriched(type="click", data={
        "selector": "a.mail", "text": "Write to ann@example.com", "href": "https://x.example/reset?token=t&to=ann@example.com"}))
    assert (click["data"]["text"], click["data"]["href"]) == (
        "Write to [email]", "https://x.example/reset?token=[redacted]&to=[email]")


@pytest.mark.parametrize("text", ["@" * 100_000, "a@" * 50_000 + "b.cc", "=" * 100_000, "?token=" * 20_000,
                                  "4" * 100_000, "1 " * 50_000, "\udcff@\x00.com", "x" * 1_000_000])
def test_scrub_survives_hostile_text(text):
    assert len(pii.scrub(text)) <= pii.MAX_TEXT_CHARS * 2


@pytest.mark.parametrize("data", [{"kind": "js", "message": "m", "frames": [None, "x", {"filename": 42}]},
                                  {"kind": "js", "message": "m", "breadcrumbs": "garbage", "request": [1]}])
def test_scrub_pii_survives_malformed_data(data):
    assert steps.scrub_pii({"type": "error", "page": None, "data": data})["data"]["message"] == "m"


def test_props_nested_as_deep_as_the_contract_allows_pass_every_step():
    deep: dict = {}
    cursor = deep
    for _ in range(contract.MAX_DEPTH - 3):  # event → data → props → … (the contract refuses deeper)
        cursor["next"] = {"email": "ann@example.com"}
        cursor = cursor["next"]
    event = steps.run(orjson.dumps(message(type="custom", data={"name": "deep", "props": deep})), STEPS)
    assert isinstance(event, dict) and event["fingerprint"] == 0


# ── options from the settings ────────────────────────────────────────────────────────────


def test_options_come_from_the_settings(monkeypatch, tmp_path):
    from pipeline import settings

    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VIGIL_DROP_HEADLESS", "1")
    monkeypatch.setenv("VIGIL_KEEP_FULL_IP", "off")
    monkeypatch.setenv("VIGIL_SECRET", "from the environment")
    options = Options.from_settings(settings.load())
    assert (options.drop_headless, options.keep_full_ip, options.secret) == (True, False, b"from the environment")
    assert "from the environment" not in repr(options)
    monkeypatch.delenv("VIGIL_DROP_HEADLESS")
    monkeypatch.delenv("VIGIL_SECRET")
    defaults = Options.from_settings(settings.load())
    assert not defaults.drop_headless and defaults.secret == (tmp_path / visitors.SECRET_FILE).read_text().strip().encode()


def test_a_bad_yes_no_setting_says_what_to_write(monkeypatch):
    from pipeline import settings

    monkeypatch.setenv("VIGIL_DROP_HEADLESS", "maybe")
    with pytest.raises(SystemExit, match="VIGIL_DROP_HEADLESS='maybe' is not a yes/no value"):
        settings.load()
