AND minute >= {start:DateTime64(3, 'UTC')}
AND minute < {end:DateTime64(3, 'UTC')}
-- include: filter/dimensions
