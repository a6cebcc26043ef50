-- A daily table's rows of the whole days the WITH constant sealed_days (rows/sealed_days) names, of
-- those days' latest seal only (as filter/sealed_hours for the hours): the day bounds let the primary
-- key prune to the range before the set is looked up.
AND day >= {hours_start:DateTime64(3, 'UTC')}
AND day < {hours_end:DateTime64(3, 'UTC')}
AND (day, sealed_at) IN (SELECT arrayJoin(sealed_days))
