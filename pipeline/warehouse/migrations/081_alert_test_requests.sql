-- Test notifications asked of `vigil alerts` (pipeline/queries/alert_store.py).
--
-- The Alerts page does not send: it records a request here and waits for the answer; the
-- alerts service, which owns delivery, polls for open requests every second or so, sends to
-- each channel and records each delivery in alert_deliveries (kind 'test', incident_id = the
-- request id), which the page reads back. A request is open while requested_at + wait_ms is
-- ahead of the server's clock and no delivery carries its id; one nobody answered in time is
-- never sent later. `requested_at` is the server's time, so the page's and the service's
-- clocks need not agree. Requests matter for seconds; their outcome stays in alert_deliveries.
CREATE TABLE IF NOT EXISTS alert_test_requests
(
    request_id   String,
    requested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    rule_id      String,
    channels     Array(String),
    project      String,
    requested_by String,
    wait_ms      UInt32
)
ENGINE = MergeTree
ORDER BY requested_at
TTL toDateTime(requested_at) + INTERVAL 7 DAY;
