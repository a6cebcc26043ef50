-- The most viewed pages: whole hours from page_audience_hour (072), the edges from traffic_minute.
SELECT
    path,
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS visitors
FROM
(
    SELECT path, if(type = 'page_view', length(events), 0) AS viewed, visitors
    FROM traffic_minute FINAL
    WHERE project_id = {project_id:UInt32}
      -- include: filter/edge_minutes
      -- include: filter/dimensions
    UNION ALL
    SELECT path, length(page_views) AS viewed, visitors
    FROM page_audience_hour FINAL
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
      -- include: filter/release
      -- include: filter/route
)
GROUP BY path
HAVING page_views > 0
ORDER BY page_views DESC, path
LIMIT {limit:UInt32}
