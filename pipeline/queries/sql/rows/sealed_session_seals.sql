-- A WITH clause's three constants for the sessions of a range (like rows/sealed_and_live_hours):
-- session_days, the (day, sealed_at) of the whole days session_day answers (rows/session_days;
-- none when hours_start = hours_end: the filters need what it lacks); sealed_start_hours, the
-- (hour, sealed_at) of the other sealed start hours (rows/sealed_session_hours), and live, every
-- other start hour of the range, whose sessions the raw events answer. Scalars, computed once per
-- statement however often they are named.
arrayFilter(h -> NOT has(session_days.1, toStartOfDay(h)),
            arrayMap(n -> toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')) + toIntervalHour(n),
                     range(toUInt64(dateDiff('hour', toStartOfHour({start:DateTime64(3, 'UTC')}),
                                             {end:DateTime64(3, 'UTC')} - toIntervalMillisecond(1)) + 1)))) AS start_hours,
(
    SELECT groupArray((hour, sealed_at)) FROM (
        -- include: rows/sealed_session_hours
    )
    WHERE hour IN (SELECT arrayJoin(start_hours))
) AS sealed_start_hours,
arrayFilter(h -> NOT has(sealed_start_hours.1, h), start_hours) AS live,
-- include: rows/session_days
