AND timestamp >= {start:DateTime64(3, 'UTC')}
AND timestamp < {end:DateTime64(3, 'UTC')}
-- include: filter/dimensions
