-- A WITH clause's two constants for the sessions of a range (like rows/sealed_and_live_hours):
-- sealed_start_hours, the (hour, sealed_at) of its sealed start hours (rows/sealed_session_hours),
-- and live, every other start hour of the range, whose sessions the raw events answer. Scalars,
-- computed once per statement however often they are named.
(
    SELECT groupArray((hour, sealed_at)) FROM (
        -- include: rows/sealed_session_hours
    )
) AS sealed_start_hours,
arrayFilter(h -> NOT has(sealed_start_hours.1, h),
            arrayMap(n -> toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')) + toIntervalHour(n),
                     range(toUInt64(dateDiff('hour', toStartOfHour({start:DateTime64(3, 'UTC')}),
                                             {end:DateTime64(3, 'UTC')} - toIntervalMillisecond(1)) + 1)))) AS live
