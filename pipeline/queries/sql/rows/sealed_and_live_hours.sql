-- A WITH clause's two constants for a family read as sealed hours: sealed_hours, the (hour,
-- sealed_at) its hourly table answers (rows/sealed_hours_of), and live_hours, every other hour the
-- range touches, which the raw events answer. Scalars: computed once per statement however often
-- they are named (ClickHouse caches a scalar subquery by its AST, across UNION ALL's branches).
-- Both sides find them in a set: the raw events' (filter/live_hours) prunes by the primary key, so
-- a sealed hour's events are not even read; the hourly table's (filter/sealed_hours) picks the
-- rows of each hour's latest seal.
(
    SELECT groupArray((hour, sealed_at))
    FROM
    (
        -- include: rows/sealed_hours_of
    )
) AS sealed_hours,
arrayFilter(h -> NOT has(sealed_hours.1, h),
            arrayMap(n -> toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')) + toIntervalHour(n),
                     range(toUInt64(dateDiff('hour', toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')),
                                             {end:DateTime64(3, 'UTC')}) + 1)))) AS live_hours
