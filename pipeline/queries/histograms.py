"""Percentiles and ratings from the rollups' log-bucketed histograms.

The Web Vitals and API rollups keep, per key, a histogram whose bucket i counts the values in
(GAMMA**(i-1), GAMMA**i] (DDSketch's layout), with each bucket's exact min and max. A
percentile is read by locating the order statistics around its rank and taking their buckets'
representative values — within :data:`RELATIVE_ACCURACY` of the exact answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from pipeline.contract import vitals

GAMMA = 101 / 99  # the migration's log(101 / 99)
ZERO_BUCKET = -32768  # zeros (a CLS of 0) have a bucket of their own
RELATIVE_ACCURACY = (GAMMA - 1) / (GAMMA + 1)  # = 0.01
# the columns of a statement that answers keyed histogram rows (key, then these)
KEYED_HISTOGRAM: dict[str, Any] = {"bucket": pl.Int16, "samples": pl.UInt64, "low": pl.Float64, "high": pl.Float64}
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p75", 0.75), ("p95", 0.95))


def bucket_value(bucket: int, low: float, high: float) -> float:
    """The value a histogram bucket's samples are read as: DDSketch's estimate 2γ^i/(γ+1), which is
    within :data:`RELATIVE_ACCURACY` of every value in the bucket, moved into the bucket's own
    ``[low, high]`` (so it is exact when the bucket holds one distinct value, e.g. one sample)."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return min(max(2 * GAMMA**bucket / (GAMMA + 1), low), high)


def bucket_values() -> pl.Expr:
    """:func:`bucket_value` of every row of a frame with ``bucket``, ``low`` and ``high`` (vectorised:
    a week's histogram has hundreds of thousands of rows)."""
    estimate = 2 * pl.lit(GAMMA).pow(pl.col("bucket").cast(pl.Float64)) / (GAMMA + 1)
    clamped = pl.min_horizontal(pl.max_horizontal(estimate, pl.col("low")), pl.col("high"))
    return pl.when(pl.col("bucket") == ZERO_BUCKET).then(0.0).otherwise(clamped)


def histogram_percentiles(histogram: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per group of the ``by`` columns: ``samples``, ``p50``, ``p75``, ``p95`` from histogram rows
    (``by`` columns, ``bucket``, ``samples``, ``low``, ``high``; other columns are ignored).

    Linear interpolation between the order statistics around each rank ``q·(n-1)``, as polars'
    and numpy's default; each order statistic is its bucket's :func:`bucket_value`.
    """
    by = list(by)
    schema: dict[str, Any] = {name: histogram.schema[name] for name in by}
    schema.update({"samples": pl.UInt64, **{name: pl.Float64 for name, _ in PERCENTILES}})
    merged = (
        histogram.group_by([*by, "bucket"])
        .agg(pl.col("samples").sum(), pl.col("low").min(), pl.col("high").max())
        .filter(pl.col("samples") > 0)
        .sort([*by, "bucket"])
    )
    if merged.is_empty():
        return pl.DataFrame(schema=schema)
    merged = merged.with_columns(bucket_values().alias("_value"))
    groups = merged.partition_by(by, maintain_order=True) if by else [merged]
    rows = []
    for group in groups:
        cumulative = np.cumsum(group["samples"].to_numpy())
        values = group["_value"].to_numpy()
        total = int(cumulative[-1])
        row: list[Any] = list(group.select(by).row(0)) if by else []
        row.append(total)
        for _, level in PERCENTILES:
            rank = level * (total - 1)
            below = math.floor(rank)
            low = values[np.searchsorted(cumulative, below, side="right")]
            high = values[np.searchsorted(cumulative, min(below + 1, total - 1), side="right")]
            row.append(float(low + (rank - below) * (high - low)))
        rows.append(row)
    return pl.DataFrame(rows, schema=schema, orient="row")


def ranked_percentiles(histogram: pl.DataFrame, key: str) -> pl.DataFrame:
    """:func:`histogram_percentiles` per ``key`` of histogram rows whose key column is ``key``: ``key``,
    ``samples``, ``p50``, ``p75``, ``p95``, the most samples first (ties: by key)."""
    return (histogram_percentiles(histogram.rename({"key": key}), [key])
            .sort(["samples", key], descending=[True, False]))


def rating_shares(histogram: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per group of ``by``: the share (0–1) of samples rated good, needs improvement and poor."""
    by = list(by)
    totals = histogram.group_by(by or pl.lit(0).alias("_all")).agg(
        *(pl.col("samples").filter(pl.col("rating") == rating).sum().alias(rating) for rating in vitals.RATINGS),
        pl.col("samples").sum().alias("_total"),
    )
    shares = totals.select(
        *(by or [pl.col("_all")]),
        *(pl.when(pl.col("_total") > 0).then(pl.col(rating) / pl.col("_total")).otherwise(None)
          .cast(pl.Float64).alias(rating.replace("-", "_")) for rating in vitals.RATINGS),
    )
    return shares if by else shares.drop("_all")


def rated(frame: pl.DataFrame, vital_of: str | None = None, vital: str = "") -> pl.DataFrame:
    """``frame`` with ``rating``: its p75 rated with pipeline.contract.vitals' thresholds (the vital named
    in column ``vital_of``, or ``vital`` for every row)."""
    names = frame[vital_of].to_list() if vital_of else [vital] * frame.height
    ratings = [vitals.rate(name, p75) if name in vitals.THRESHOLDS else None for name, p75 in zip(names, frame["p75"])]
    return frame.with_columns(pl.Series("rating", ratings, dtype=pl.String))
