-- A WITH clause's constant live_before: every hour inserted into (audience_hour_touched, 073) up to
-- the minute of {start:DateTime64(3, 'UTC')} but those rows/sealed_hours_before answers, which the raw
-- events answer (found in a set, as filter/live_hours finds live_hours).
arrayFilter(h -> NOT has((SELECT groupArray(hour) FROM (
                -- include: rows/sealed_hours_before
            )), h),
            (SELECT groupUniqArray(hour) FROM audience_hour_touched
             WHERE project_id = {project_id:UInt32} AND hour <= {start:DateTime64(3, 'UTC')})) AS live_before
