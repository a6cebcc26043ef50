-- rows/day_seals in a statement rendered without days (statements.sql), for a range that holds no
-- whole UTC day (tiers.holds_whole_day): sealed_days is empty, so the hours and minutes answer and
-- nothing is looked up (the lookups cost ~40 ms a query at 24 h and would find nothing).
CAST([], 'Array(Tuple(DateTime(\'UTC\'), DateTime64(3, \'UTC\')))') AS sealed_days,
