-- A WITH clause's constant sealed_days: the (day, sealed_at) of the range's whole days that the daily
-- table {day_table:Identifier} answers (rows/sealed_days_of). A statement rendered without days
-- (statements.sql) has rows/no_day_seals instead.
(
    SELECT groupArray((day, sealed_at))
    FROM
    (
        -- include: rows/sealed_days_of
    )
) AS sealed_days,
