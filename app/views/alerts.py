"""Alerts: which rules watch what, which are firing, what was sent — and managing them.

Rules: every rule with its state (firing, pending, ok), condition, severity, channels and
mute; a form to create one; pick a rule to edit it, mute it for a while, send a test
notification to its channels, or delete it. Rules from the alerts file (``VIGIL_ALERTS_FILE``)
are edited in the file; here they can be muted and tested. History: every state change and
every notification, with an incident timeline. Channels: where notifications go.

The page is presentation only: rules, channels and mutes are written through the query
layer's store (``vigil alerts`` picks the changes up at its next evaluation, within a minute),
and a test notification is *asked of* ``vigil alerts``, which owns delivery and the channels'
secrets: the page records the request, waits for the answer (``VIGIL_ALERTS_TEST_WAIT``
seconds at most) and shows it — or says that no service answered and what to run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import plotly.express as px
import polars as pl
import streamlit as st

import view_filters
from pipeline import queries, settings
from pipeline.queries import vitals
from pipeline.queries.alert_rules import (
    CHANNEL_TYPES, COMPARATORS, METRICS, SEVERITIES, Channel, Rule, RuleError, dump_config, format_duration,
    parse_channel, parse_rule, slugify,
)
from pipeline.queries.alert_store import AlertStore, Delivery

FLASH_KEY = "alerts_flash"
MUTE_SPANS = {"1h": "1 hour", "4h": "4 hours", "1d": "1 day", "1w": "1 week"}
SEVERITY_LABELS = {"info": "info", "warning": "▲ warning", "critical": "■ critical"}
STATE_LABELS = {"firing": "● firing", "pending": "◐ pending", "ok": "✓ ok", "disabled": "— disabled"}

selection = view_filters.current()
assert selection is not None
client = view_filters.warehouse()
store = AlertStore(client)
by = str(st.session_state.get("vigil_user") or "")

st.title("Alerts")
if FLASH_KEY in st.session_state:
    st.success(st.session_state.pop(FLASH_KEY), icon=":material/check:")


def done(message: str) -> None:
    """Show ``message`` after the rerun that redraws everything with the change."""
    st.session_state[FLASH_KEY] = message
    st.rerun()


def show_problems(error: RuleError) -> None:
    st.error("This cannot be saved yet:\n\n" + "\n".join(f"- {problem}" for problem in error.problems),
             icon=":material/error:")


def show_deliveries(deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        if delivery.delivered:
            st.success(f"Test notification delivered to {delivery.channel} ({delivery.channel_type}).",
                       icon=":material/send:")
        else:
            st.error(f"{delivery.channel}: {delivery.error}", icon=":material/error:")


def ask_for_test(channel_names: list[str], *, rule_id: str = "", project: str = "") -> None:
    """Ask ``vigil alerts`` for a test notification to ``channel_names`` and show its answer."""
    wait_s = settings.load().alerts_test_wait_s
    request = store.request_test(channel_names, rule_id=rule_id, project=project, by=by, wait_s=wait_s)
    with st.spinner(f"Asking `vigil alerts` to send it (waiting up to {wait_s:g} s) …"):
        deliveries = store.await_test(request, wait_s)
    show_deliveries(deliveries)
    answered = {delivery.channel for delivery in deliveries}
    unanswered = [name for name in request.channels if name not in answered]
    if unanswered and not deliveries:
        st.error(f"No `vigil alerts` answered within {wait_s:g} s, so nothing was sent: test notifications are "
                 "sent by the alerts service. Start it with `vigil alerts` (`vigil up` starts it with the rest), "
                 "then try again.", icon=":material/cloud_off:")
    elif unanswered:
        st.warning(f"No answer for {', '.join(unanswered)} within {wait_s:g} s; the History tab shows its "
                   "delivery once `vigil alerts` records it.", icon=":material/hourglass_empty:")


def table(frame: pl.DataFrame, key: str, column_config: dict[str, Any]) -> None:
    """A read-only table; every cell is shown as text or a number, never as markdown."""
    st.dataframe(frame, hide_index=True, key=key, column_config=column_config)


def nothing_yet(what: str) -> None:
    st.info(f"No {what} yet.", icon=":material/hourglass_empty:")


with view_filters.warehouse_errors():
    rules, broken = store.rules_and_problems()
    channels = store.channels()
    mutes = store.mutes()
    incidents = store.open_incidents()
    projects = queries.projects(client)
project_names = projects["name"].to_list()

states: dict[str, str] = {}
for incident in incidents:
    if states.get(incident.rule_id) != "firing":
        states[incident.rule_id] = incident.state
# new rules watch the project picked in the sidebar
default_project = next(iter(projects.filter(pl.col("id") == selection.project_id)["name"]), project_names[0])

rules_tab, history_tab, channels_tab = st.tabs([":material/rule: Rules", ":material/history: History",
                                                ":material/campaign: Channels"])

# ── rules ────────────────────────────────────────────────────────────────────────────────


def rule_form(key: str, rule: Rule | None, submit_label: str) -> dict[str, Any] | None:
    """The fields of a rule, prefilled from ``rule``; the definition as YAML would say it once submitted."""
    with st.form(key):
        name = st.text_input("Name", value=rule.name if rule else "", key=f"{key}_name",
                             placeholder="Errors on checkout")
        metric_column, vital_column, project_column = st.columns(3)
        metrics = list(METRICS)
        metric = metric_column.selectbox("Metric", metrics, index=metrics.index(rule.metric) if rule else 0,
                                         key=f"{key}_metric", format_func=lambda m: METRICS[m].label,
                                         help="\n".join(f"- **{spec.label}**: {spec.help}" for spec in METRICS.values()))
        vital = vital_column.selectbox("Web Vital (for Web Vital p75)", vitals.VITAL_NAMES,
                                       index=vitals.VITAL_NAMES.index(rule.vital) if rule and rule.vital else 0,
                                       key=f"{key}_vital")
        current = rule.project if rule else default_project
        choices = project_names + ([current] if current not in project_names else [])
        project = project_column.selectbox("Project", choices, index=choices.index(current), key=f"{key}_project")
        comparator_column, threshold_column, window_column, for_column = st.columns(4)
        comparators = list(COMPARATORS)
        comparator = comparator_column.selectbox("Comparator", comparators, key=f"{key}_comparator",
                                                 index=comparators.index(rule.comparator) if rule else 0,
                                                 format_func=lambda c: f"{c}  ({COMPARATORS[c]})")
        threshold = threshold_column.number_input("Threshold", value=float(rule.threshold) if rule else 0.0,
                                                  key=f"{key}_threshold",
                                                  help="Rates and drops in percent, vitals in ms (CLS unitless).")
        window = window_column.text_input("Window", value=format_duration(rule.window) if rule else "5m",
                                          key=f"{key}_window", help="e.g. 5m, 1h, 1d (whole minutes)")
        for_ = for_column.text_input("For", value=format_duration(rule.for_) if rule else "0", key=f"{key}_for",
                                     help="How long the condition must hold before the rule fires (0 = at once).")
        environment_column, route_column, release_column = st.columns(3)
        environment = environment_column.text_input("Environment", value=rule.environment if rule else "",
                                                    key=f"{key}_environment", placeholder="any")
        route = route_column.text_input("Route", value=rule.route if rule else "", key=f"{key}_route",
                                        placeholder="any, or /checkout, /products/*")
        release = release_column.text_input("Release", value=rule.release if rule else "", key=f"{key}_release",
                                            placeholder="any")
        severity_column, cooldown_column, samples_column = st.columns(3)
        severity = severity_column.selectbox("Severity", SEVERITIES, key=f"{key}_severity",
                                             index=SEVERITIES.index(rule.severity) if rule else 1)
        cooldown = cooldown_column.text_input("Cooldown", value=format_duration(rule.cooldown) if rule else "30m",
                                              key=f"{key}_cooldown",
                                              help="At least this long between two firing notifications.")
        min_samples = samples_column.number_input("Minimum samples", min_value=0, step=1,
                                                  value=rule.min_samples if rule else 0, key=f"{key}_min_samples",
                                                  help="Rates, percentiles and drops over fewer are not judged.")
        chosen = st.multiselect("Notify", list(channels), default=[c for c in (rule.channels if rule else ())
                                                                    if c in channels],
                                key=f"{key}_channels", placeholder="Pick channels (make them on the Channels tab)")
        description = st.text_area("Description", value=rule.description if rule else "", key=f"{key}_description",
                                   placeholder="What to check first when it fires.", height=68)
        enabled = st.checkbox("Enabled", value=rule.enabled if rule else True, key=f"{key}_enabled")
        submitted = st.form_submit_button(submit_label, type="primary", key=f"{key}_submit")
    if not submitted:
        return None
    definition: dict[str, Any] = {
        "id": rule.id if rule else new_rule_id(name), "name": name.strip(), "description": description.strip(),
        "metric": metric, "project": project, "window": window.strip(), "comparator": comparator,
        "threshold": threshold, "for": for_.strip(), "severity": severity, "cooldown": cooldown.strip(),
        "channels": chosen, "min_samples": int(min_samples), "enabled": enabled,
        "filters": {"environment": environment.strip(), "route": route.strip(), "release": release.strip()},
    }
    if metric == "vital_p75":
        definition["vital"] = vital
    return definition


def new_rule_id(name: str) -> str:
    base = slugify(name)
    candidate, n = base, 2
    while candidate in rules or candidate in broken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def rules_table() -> None:
    now = datetime.now(timezone.utc)
    rows = []
    for rule in rules.values():
        mute = mutes.get(rule.id)
        rows.append({
            "state": STATE_LABELS["disabled" if not rule.enabled else states.get(rule.id, "ok")],
            "name": rule.name, "condition": rule.describe(), "project": rule.project,
            "severity": SEVERITY_LABELS[rule.severity],
            "channels": ", ".join(rule.channels) or "—",
            "muted_until": mute.until if mute and mute.active(now) else None,
            "source": "alerts file" if rule.source == "file" else "this page", "id": rule.id,
        })
    frame = pl.DataFrame(rows, schema={"state": pl.String, "name": pl.String, "condition": pl.String,
                                       "project": pl.String, "severity": pl.String, "channels": pl.String,
                                       "muted_until": pl.Datetime("ms", "UTC"), "source": pl.String, "id": pl.String})
    table(frame, "alert_rules", {
        "state": st.column_config.TextColumn("State"), "name": st.column_config.TextColumn("Rule"),
        "condition": st.column_config.TextColumn("Condition", width="large"),
        "project": st.column_config.TextColumn("Project"), "severity": st.column_config.TextColumn("Severity"),
        "channels": st.column_config.TextColumn("Notifies"),
        "muted_until": st.column_config.DatetimeColumn("Muted until", format="YYYY-MM-DD HH:mm"),
        "source": st.column_config.TextColumn("Defined in"), "id": st.column_config.TextColumn("Id"),
    })


def manage(rule: Rule) -> None:
    """Mute, test, edit or delete one rule."""
    st.text(rule.describe())
    if rule.description:
        st.caption(rule.description)
    mute = mutes.get(rule.id)
    mute_column, test_column = st.columns(2)
    with mute_column:
        if mute is not None and mute.active(datetime.now(timezone.utc)):
            st.caption(f":material/notifications_off: Muted until {mute.until:%Y-%m-%d %H:%M} UTC"
                       + (f" by {mute.by}" if mute.by else "") + ". Incidents are still tracked and recorded.")
            if st.button("Unmute", icon=":material/notifications_active:", key="unmute"):
                store.unmute(rule.id, by=by)
                done(f"{rule.name} is no longer muted.")
        else:
            span = st.selectbox("Mute for", list(MUTE_SPANS), format_func=MUTE_SPANS.get, key="mute_for")
            reason = st.text_input("Reason", key="mute_reason", placeholder="deploying, known incident, …")
            if st.button("Mute", icon=":material/notifications_off:", key="mute"):
                until = datetime.now(timezone.utc) + {"1h": timedelta(hours=1), "4h": timedelta(hours=4),
                                                      "1d": timedelta(days=1), "1w": timedelta(weeks=1)}[span]
                store.mute(rule.id, until, reason=reason.strip(), by=by)
                done(f"{rule.name} is muted until {until:%Y-%m-%d %H:%M} UTC.")
    with test_column:
        targets = [channels[name] for name in rule.channels if name in channels]
        st.caption("Send a test notification about this rule to "
                   + (", ".join(channel.name for channel in targets) if targets else "— no channel yet"))
        if st.button("Send test notification", icon=":material/send:", key="test_rule", disabled=not targets):
            ask_for_test([channel.name for channel in targets], rule_id=rule.id)

    if rule.source == "file":
        st.info("This rule is defined in the alerts file (VIGIL_ALERTS_FILE): change it there; `vigil alerts` "
                "picks the change up within a minute.", icon=":material/description:")
        return
    definition = rule_form(f"edit_{rule.id}", rule, "Save changes")
    if definition is not None:
        try:
            store.save_rule(parse_rule(definition, channels=list(channels)), by=by)
        except RuleError as error:
            show_problems(error)
        else:
            done(f"Saved {definition['name'] or rule.id}.")
    if st.button("Delete rule", icon=":material/delete:", key="delete_rule"):
        store.delete_rule(rule.id, by=by)
        done(f"Deleted {rule.name}.")


with rules_tab:
    for rule_id, problem in broken.items():
        st.warning(f"Stored rule {rule_id} no longer passes the checks and is not evaluated: {problem}",
                   icon=":material/warning:")
    if rules:
        rules_table()
    else:
        st.info("No alert rules yet. Create one below, or define them as code in a YAML file "
                "(VIGIL_ALERTS_FILE; see docs/alerts.md).", icon=":material/notifications:")

    with st.expander("New rule", icon=":material/add_alert:", expanded=not rules):
        definition = rule_form("new_rule", None, "Create rule")
        if definition is not None:
            try:
                created = parse_rule(definition, channels=list(channels))
            except RuleError as error:
                show_problems(error)
            else:
                store.save_rule(created, by=by)
                done(f"Created {created.name}. `vigil alerts` evaluates it from its next run on.")

    if rules:
        st.subheader("Manage a rule")
        picked = st.selectbox("Rule", list(rules), key="alert_rule", format_func=lambda r: f"{rules[r].name} · {r}")
        if picked is not None:
            manage(rules[picked])
        with st.expander("Export as YAML (config as code)", icon=":material/code:"):
            st.code(dump_config([c for c in channels.values()], list(rules.values())), language="yaml")

# ── history ──────────────────────────────────────────────────────────────────────────────

with history_tab:
    names = {rule_id: rule.name for rule_id, rule in rules.items()}
    focus = st.selectbox("Rule", [""] + list(rules), key="history_rule",
                         format_func=lambda r: "All rules" if not r else names.get(r, r))
    with view_filters.warehouse_errors():
        history = store.history(focus or "", limit=500)
        deliveries = store.deliveries(focus or "", limit=200)
    open_now = [incident for incident in incidents if not focus or incident.rule_id == focus]
    if open_now:
        st.subheader("Open incidents")
        for incident in open_now:
            label = names.get(incident.rule_id, incident.rule_id) + (f" · {incident.key}" if incident.key else "")
            st.text(f"{STATE_LABELS[incident.state]}  {label}  since {incident.since:%Y-%m-%d %H:%M} UTC"
                    + ("" if incident.notified or incident.state == "pending" else "  (not notified yet)"))
    if history.is_empty():
        nothing_yet("state changes")
    else:
        figure = px.scatter(history.sort("at"), x="at", y="rule_name", color="state", symbol="state",
                            color_discrete_map={"pending": "#FFA400", "firing": "#FF4E42", "resolved": "#0CCE6B",
                                                "cancelled": "#9E9E9E"},
                            hover_data={"summary": True, "note": True, "notified": True})
        figure.update_traces(marker={"size": 11})
        figure.update_layout(yaxis_title=None, xaxis_title=None, legend_title_text="")
        figure.update_layout(height=260, margin={"l": 0, "r": 0, "t": 8, "b": 0},
                             legend={"orientation": "h", "y": -0.25})
        st.plotly_chart(figure, key="alert_timeline", config={"displaylogo": False})
        table(history.select("at", "rule_name", "key", "state", "value", "summary", "notified", "note", "origin"),
                 "alert_history", {
                     "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                     "rule_name": st.column_config.TextColumn("Rule"), "key": st.column_config.TextColumn("Group"),
                     "state": st.column_config.TextColumn("State"),
                     "value": st.column_config.NumberColumn("Value", format="%.4g"),
                     "summary": st.column_config.TextColumn("What", width="large"),
                     "notified": st.column_config.CheckboxColumn("Notified"),
                     "note": st.column_config.TextColumn("Note"), "origin": st.column_config.TextColumn("Seen by"),
                 })
    st.subheader("Notifications sent")
    if deliveries.is_empty():
        nothing_yet("notifications")
    else:
        table(deliveries.select("at", "rule_id", "kind", "channel", "delivered", "attempts", "error"),
                 "alert_deliveries", {
                     "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                     "rule_id": st.column_config.TextColumn("Rule"), "kind": st.column_config.TextColumn("Kind"),
                     "channel": st.column_config.TextColumn("Channel"),
                     "delivered": st.column_config.CheckboxColumn("Delivered"),
                     "attempts": st.column_config.NumberColumn("Attempts"),
                     "error": st.column_config.TextColumn("Error", width="large"),
                 })

# ── channels ─────────────────────────────────────────────────────────────────────────────


def channel_definition(kind: str, url: str, recipients: str, headers: str) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": kind}
    if kind in ("webhook", "slack"):
        definition["url"] = url.strip()
    if kind == "email":
        definition["to"] = [address.strip() for address in recipients.replace(";", ",").split(",") if address.strip()]
    if kind == "webhook" and headers.strip():
        pairs = [line.split(":", 1) for line in headers.splitlines() if line.strip()]
        definition["headers"] = {name.strip(): value.strip() for name, value in
                                 (pair if len(pair) == 2 else (pair[0], "") for pair in pairs)}
    return definition


with channels_tab:
    if channels:
        used_by = {name: [rule.id for rule in rules.values() if name in rule.channels] for name in channels}
        table(pl.DataFrame([{
            "name": channel.name, "type": CHANNEL_TYPES[channel.type].split(" (")[0], "target": channel.target,
            "used_by": ", ".join(used_by[channel.name]) or "—",
            "source": "alerts file" if channel.source == "file" else "this page",
        } for channel in channels.values()]), "alert_channels", {
            "name": st.column_config.TextColumn("Channel"), "type": st.column_config.TextColumn("Type"),
            "target": st.column_config.TextColumn("Sends to"), "used_by": st.column_config.TextColumn("Used by"),
            "source": st.column_config.TextColumn("Defined in"),
        })
        test_column, delete_column = st.columns(2)
        picked_channel = test_column.selectbox("Channel", list(channels), key="alert_channel")
        if test_column.button("Send test notification", icon=":material/send:", key="test_channel"):
            ask_for_test([picked_channel], project=default_project)
        if channels[picked_channel].source == "ui" and delete_column.button(
                "Delete channel", icon=":material/delete:", key="delete_channel"):
            try:
                store.delete_channel(picked_channel, by=by)
            except RuleError as error:
                show_problems(error)
            else:
                done(f"Deleted the channel {picked_channel}.")
    else:
        st.info("No channels yet: add a webhook, a Slack-compatible webhook or an e-mail list below.",
                icon=":material/campaign:")

    with st.form("new_channel"):
        st.markdown("**New channel**")
        name_column, type_column = st.columns(2)
        channel_name = name_column.text_input("Name", key="channel_name", placeholder="oncall-slack")
        kind = type_column.selectbox("Type", list(CHANNEL_TYPES), key="channel_type", format_func=CHANNEL_TYPES.get)
        url = st.text_input("URL (webhook, Slack)", key="channel_url",
                            placeholder="https://hooks.slack.com/services/… or ${ENV_VAR}",
                            help="${NAME} is read from the environment when sending: keep secrets out of storage.")
        recipients = st.text_input("Recipients (e-mail)", key="channel_to", placeholder="oncall@example.com, …")
        headers = st.text_area("Headers (webhook), one per line", key="channel_headers",
                               placeholder="Authorization: Bearer ${VIGIL_HOOK_TOKEN}", height=68)
        if st.form_submit_button("Add channel", type="primary", key="channel_submit"):
            try:
                channel: Channel = parse_channel(channel_name.strip(), channel_definition(kind, url, recipients, headers))
            except RuleError as error:
                show_problems(error)
            else:
                if channel.name in channels:
                    show_problems(RuleError([f"channel {channel.name!r} exists already; pick another name"]))
                else:
                    store.save_channel(channel, by=by)
                    done(f"Added the channel {channel.name}.")
