"""``vigil signals``: per-project 1-minute aggregates for the alerts' fast path (docs/signals.md)."""
