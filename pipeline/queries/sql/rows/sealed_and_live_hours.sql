-- A WITH clause's two constants for a family read as sealed hours: sealed_hours, the (hour,
-- sealed_at) its hourly table answers (rows/sealed_hours_of), and live_hours, every other hour the
-- range touches, which the raw events answer. Scalars: computed once per statement however often
-- they are named (ClickHouse caches a scalar subquery by its text, across UNION ALL's branches).
-- has() with a constant array of a few hours filters events by their primary key, so a sealed
-- hour's events are not even read; the hourly table's side looks the sealed hours up in a set
-- (filter/sealed_hours).
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
