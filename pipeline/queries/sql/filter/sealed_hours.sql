-- An hourly table's rows of the hours the WITH constant sealed_hours (rows/sealed_and_live_hours)
-- names, of those hours' latest seal only: looked up in a set built once (has() would scan the
-- array for every row: 1.3 s over 30 days of web_vitals_hour at 3M events). A seal writes each key
-- of its hour once, so matching its sealed_at picks one version of every key and FINAL is not needed.
AND (hour, sealed_at) IN (SELECT arrayJoin(sealed_hours))
