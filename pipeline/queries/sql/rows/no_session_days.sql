-- rows/session_days in a statement rendered without days (statements.sql), for a range that holds no
-- whole UTC day (tiers.holds_whole_day) or filters that session_day lacks: session_days is empty, so
-- every start hour is read from the sealed hours and the raw events, and nothing is looked up.
CAST([], 'Array(Tuple(DateTime(\'UTC\'), DateTime64(3, \'UTC\')))') AS session_days
