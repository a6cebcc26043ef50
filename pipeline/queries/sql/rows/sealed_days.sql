-- A WITH clause's constants for a family read as sealed days and hours (097), in place of
-- rows/sealed_and_live_hours: sealed_days, the (day, sealed_at) its daily table answers
-- (rows/day_seals; none in a statement rendered without days: statements.sql); open_hours, every
-- other hour the range touches; of those, sealed_hours, the (hour, sealed_at) its hourly table
-- answers (rows/sealed_hours_of, whose scan the set prunes by the primary key: 30 days of
-- resource_hour are 18.8M rows, ~150 ms read whole), and live_hours, the rest, which the raw events
-- answer. filter/sealed_hours and filter/live_hours read them as ever.
-- include: rows/day_seals
arrayFilter(h -> NOT has(sealed_days.1, toStartOfDay(h)),
            arrayMap(n -> toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')) + toIntervalHour(n),
                     range(toUInt64(dateDiff('hour', toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')),
                                             {end:DateTime64(3, 'UTC')}) + 1)))) AS open_hours,
(
    SELECT groupArray((hour, sealed_at))
    FROM
    (
        -- include: rows/sealed_hours_of
    )
    WHERE hour IN (SELECT arrayJoin(open_hours))
) AS sealed_hours,
arrayFilter(h -> NOT has(sealed_hours.1, h), open_hours) AS live_hours
