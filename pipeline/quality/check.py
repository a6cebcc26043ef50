"""Run the Great Expectations suites in ``expectations/`` on a batch of ``events`` rows.

A suite is GX's own JSON (``ExpectationSuite`` serialisation) plus a ``meta.version`` that
is bumped whenever an expectation changes, and a ``meta.name`` per expectation: the stable
key results are stored and charted under (the same type and column appear several times,
e.g. one range per Web Vital, told apart by their ``row_condition``).

The frame is the processor's rows (:data:`pipeline.stream.rows.COLUMNS`, timestamps in
epoch milliseconds) or the same columns read back from ClickHouse; :func:`prepare` adds
the derived columns the suites use (``clock_skew_s``).

    from pipeline.quality.check import Checker
    checker = Checker()                      # imports GX and builds its context: seconds
    results = checker.check_batch(frame)     # then ~0.1-0.5 s per suite and batch
    failing = [r for r in results if not r.success]

Great Expectations is imported inside :class:`Checker` only, so importing this module is
cheap (the processor imports it on its hot path's start-up).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.settings import REPO_ROOT

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SAMPLE_VALUES = 10  # unexpected values kept per failing expectation
DATASOURCE = "vigil"


class SuiteError(ValueError):
    """A suite file is not a valid GX suite with Vigil's ``meta`` fields; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    """One expectation's verdict on one batch: a row of the ``quality_results`` table."""

    suite: str
    suite_version: int
    expectation: str  # the suite's meta.name for it: the stable key
    expectation_type: str
    column: str
    row_condition: str
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_percent: float
    observed_value: Any = None  # for aggregate expectations (JSON-able)
    unexpected_sample: list[Any] = field(default_factory=list)  # up to SAMPLE_VALUES values
    exception: str = ""


def suite_files(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    """The suite files, by name."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise SuiteError(f"no suites (*.json) in {directory}; the repository's expectations/ folder holds them")
    return files


def read_suite(path: Path) -> dict[str, Any]:
    """A suite file's JSON, checked for Vigil's conventions (version, a unique name per expectation)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{path}: cannot read the suite ({exc}); it must be a GX ExpectationSuite as JSON") from exc
    version = (document.get("meta") or {}).get("version")
    if type(version) is not int or version < 1:
        raise SuiteError(f"{path}: meta.version must be a positive integer (bump it when an expectation changes)")
    names = [(item.get("meta") or {}).get("name") for item in document.get("expectations", [])]
    missing = [index for index, name in enumerate(names) if not name]
    if missing:
        raise SuiteError(f"{path}: expectations {missing} have no meta.name; give each a short stable name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SuiteError(f"{path}: meta.name must be unique in a suite; repeated: {', '.join(duplicates)}")
    return document


def prepare(frame: Any) -> pd.DataFrame:
    """A pandas frame with the columns the suites read (polars frames are converted).

    ``timestamp`` / ``received_at`` may be epoch milliseconds (the processor's rows) or
    datetimes (read back from ClickHouse).
    """
    if not isinstance(frame, pd.DataFrame):
        frame = frame.to_pandas()
    frame = frame.copy()
    if {"timestamp", "received_at"} <= set(frame.columns):
        frame["clock_skew_s"] = (_epoch_ms(frame["timestamp"]) - _epoch_ms(frame["received_at"])) / 1000.0
    return frame


def _epoch_ms(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        if column.dt.tz is None:
            column = column.dt.tz_localize("UTC")
        return (column - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    return column.astype("int64")


def rows_frame(rows: Sequence[tuple], columns: Sequence[str]) -> pd.DataFrame:
    """The processor's row tuples → a frame (only the columns the suites may read are kept)."""
    keep = [index for index, name in enumerate(columns) if name not in _HEAVY]
    if not rows:
        return pd.DataFrame({columns[i]: [] for i in keep})
    transposed = list(zip(*rows))
    return pd.DataFrame({columns[i]: transposed[i] for i in keep})


_HEAVY = frozenset({"data", "tags", "user_agent"})  # big, and no expectation reads them


def condition_text(condition: Any) -> str:
    """A GX row condition (its JSON form) as one readable line: ``type == "error" AND url != ""``."""
    if not condition:
        return ""
    if isinstance(condition, str):
        return condition
    kind = condition.get("type")
    if kind in ("and", "or"):
        parts = [condition_text(part) for part in condition.get("conditions", [])]
        parts = [f"({part})" if " AND " in part or " OR " in part else part for part in parts]
        return f" {kind.upper()} ".join(parts)
    if kind == "comparison":
        column = (condition.get("column") or {}).get("name", "?")
        return f"{column} {condition.get('operator')} {json.dumps(condition.get('parameter'))}"
    if kind == "nullity":
        column = (condition.get("column") or {}).get("name", "?")
        return f"{column} IS {'NULL' if condition.get('is_null') else 'NOT NULL'}"
    return json.dumps(condition, sort_keys=True)


def _jsonable(value: Any) -> Any:
    """Make GX's observed values / samples JSON-safe (numpy scalars, timestamps, NaN)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with pandas
        np = None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class Checker:
    """Great Expectations, set up once: an ephemeral context with the suites and one pandas asset.

    Building it imports GX and takes seconds; keep one per process (the quality worker does).
    ``data_docs_dir`` adds a Data Docs site there (used by ``vigil quality report``).
    """

    def __init__(self, directory: Path = EXPECTATIONS_DIR, data_docs_dir: Path | None = None) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.core.expectation_suite import ExpectationSuite, expectationSuiteSchema

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        self.data_docs_dir = data_docs_dir
        if data_docs_dir is not None:
            self.context.add_data_docs_site(site_name="vigil", site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
            })
        datasource = self.context.data_sources.add_pandas(DATASOURCE)
        self.suites: dict[str, Any] = {}
        self.versions: dict[str, int] = {}
        self._names: dict[str, dict[str, str]] = {}  # suite → expectation id → meta.name
        self._conditions: dict[str, dict[str, str]] = {}  # suite → meta.name → row_condition as written
        self._batches: dict[str, Any] = {}
        for path in suite_files(directory):
            document = read_suite(path)
            try:
                suite = ExpectationSuite(**expectationSuiteSchema.load(document))
            except Exception as exc:  # marshmallow / GX say what is wrong with the JSON
                raise SuiteError(f"{path}: not a valid GX ExpectationSuite: {exc}") from exc
            suite = self.context.suites.add(suite)
            self.suites[suite.name] = suite
            self.versions[suite.name] = document["meta"]["version"]
            self._names[suite.name] = {str(e.id): e.meta["name"] for e in suite.expectations}
            self._conditions[suite.name] = {item["meta"]["name"]: condition_text(item.get("kwargs", {}).get("row_condition"))
                                            for item in document["expectations"]}
            asset = datasource.add_dataframe_asset(suite.name)
            self._batches[suite.name] = asset.add_batch_definition_whole_dataframe(suite.name)

    def check_batch(self, frame: Any, suites: Sequence[str] | None = None) -> list[ExpectationResult]:
        """Validate ``frame`` (pandas or polars, the events columns) against the suites."""
        prepared = prepare(frame)
        results: list[ExpectationResult] = []
        for name in suites or list(self.suites):
            batch = self._batches[name].get_batch(batch_parameters={"dataframe": prepared})
            validation = batch.validate(self.suites[name], result_format="SUMMARY")
            results.extend(self._rows(name, validation))
        return results

    def build_data_docs(self, frame: Any, run_name: str | None = None) -> tuple[list[ExpectationResult], Path]:
        """Validate through a checkpoint that updates the Data Docs site; → results and index.html."""
        if self.data_docs_dir is None:
            raise ValueError("this Checker has no Data Docs site; create it with Checker(data_docs_dir=...)")
        gx = self._gx
        prepared = prepare(frame)
        definitions = []
        for name, suite in self.suites.items():
            definitions.append(self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{name}-{run_name or 'report'}", data=self._batches[name], suite=suite)))
        checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=f"vigil-{run_name or 'report'}", validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["vigil"])],
            result_format={"result_format": "SUMMARY"},
        ))
        run_id = gx.core.run_identifier.RunIdentifier(run_name=run_name or "vigil-quality-report",
                                                      run_time=datetime.now(timezone.utc))
        outcome = checkpoint.run(batch_parameters={"dataframe": prepared}, run_id=run_id)
        results: list[ExpectationResult] = []
        for validation in outcome.run_results.values():
            results.extend(self._rows(validation.suite_name, validation))
        return results, self.data_docs_dir / "index.html"

    def _rows(self, suite: str, validation: Any) -> list[ExpectationResult]:
        rows = []
        for item in validation.results:
            config = item.expectation_config
            kwargs = config.kwargs
            result = item.result or {}
            exception = item.exception_info or {}
            failed_with = exception.get("exception_message") if exception.get("raised_exception") else ""
            name = self._names[suite].get(str(config.id)) or config.meta.get("name") or config.type
            rows.append(ExpectationResult(
                suite=suite,
                suite_version=self.versions[suite],
                expectation=name,
                expectation_type=config.type,
                column=str(kwargs.get("column") or kwargs.get("column_A") or ""),
                row_condition=self._conditions[suite].get(name, ""),
                success=bool(item.success),
                element_count=int(result.get("element_count") or 0),
                unexpected_count=int(result.get("unexpected_count") or 0),
                unexpected_percent=float(result.get("unexpected_percent") or 0.0),
                observed_value=_jsonable(result.get("observed_value")),
                unexpected_sample=_jsonable(list(result.get("partial_unexpected_list") or [])[:SAMPLE_VALUES]),
                exception=str(failed_with or "")[:2000],
            ))
        return rows


_shared: Checker | None = None


def check_batch(frame: Any, suites: Sequence[str] | None = None) -> list[ExpectationResult]:
    """Validate ``frame`` with a process-wide :class:`Checker` (built on first call: seconds)."""
    global _shared
    if _shared is None:
        _shared = Checker()
    return _shared.check_batch(frame, suites)
