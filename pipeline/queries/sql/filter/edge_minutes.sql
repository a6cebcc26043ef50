AND minute >= {start:DateTime64(3, 'UTC')}
AND minute < {end:DateTime64(3, 'UTC')}
AND NOT (minute >= {hours_start:DateTime64(3, 'UTC')} AND minute < {hours_end:DateTime64(3, 'UTC')})
