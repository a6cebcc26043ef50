"""``pipeline/warehouse/schema.sql`` is what the migrations produce: applied in order to a fresh
database of the real engine, they leave exactly the tables and views the file shows."""

from __future__ import annotations

import difflib

import pytest

from pipeline.warehouse import schema
from tests.support.schema_file import migrated_schema

pytestmark = pytest.mark.integration


def test_the_migrations_produce_exactly_the_schema_file(clickhouse):
    produced = migrated_schema(clickhouse)
    shown = schema.SCHEMA_FILE.read_text(encoding="utf-8")
    difference = "".join(difflib.unified_diff(shown.splitlines(keepends=True), produced.splitlines(keepends=True),
                                              "pipeline/warehouse/schema.sql", "the migrations", n=1))
    assert produced == shown, f"schema.sql is not what the migrations make; run `make schema`:\n{difference}"

