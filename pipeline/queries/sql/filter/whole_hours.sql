AND hour >= {hours_start:DateTime64(3, 'UTC')}
AND hour < {hours_end:DateTime64(3, 'UTC')}
