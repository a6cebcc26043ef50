-- A WITH clause's constant live_before: every hour inserted into (audience_hour_touched, 073) up to
-- the minute of {start:DateTime64(3, 'UTC')} but those rows/sealed_hours_before answers, which the raw
-- events answer; has() with a constant array of hours filters events by their primary key.
arrayFilter(h -> NOT has((SELECT groupArray(hour) FROM (
                -- include: rows/sealed_hours_before
            )), h),
            (SELECT groupUniqArray(hour) FROM audience_hour_touched
             WHERE project_id = {project_id:UInt32} AND hour <= {start:DateTime64(3, 'UTC')})) AS live_before
