-- A WITH clause's two constants for a family read as sealed hours (rows/sealed_hours_of):
-- sealed_hours, the (hour, sealed_at) its hourly table answers, and live_hours, every other hour
-- the range touches, which the raw events answer. Scalars, computed once per SELECT; has() with a
-- constant array of hours filters events by their primary key, so a sealed hour's events are not
-- even read (NOT has() could not).
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
