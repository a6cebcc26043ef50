AND timestamp >= {start:DateTime64(3, 'UTC')} - toIntervalMinute(1)
AND timestamp < {end:DateTime64(3, 'UTC')} + toIntervalMinute(1)
AND toStartOfMinute(timestamp) >= {start:DateTime64(3, 'UTC')}
AND toStartOfMinute(timestamp) < {end:DateTime64(3, 'UTC')}
