-- Sessions and their bounce rate per entry or exit page: the key parameter names a column of rows/sessions
-- (entry or exit), picked by the calling function from a fixed list.
SELECT {key:Identifier} AS page, count() AS sessions, countIf(pages = 1) / count() AS bounce_rate
FROM
(
    -- include: rows/sessions
)
GROUP BY page
ORDER BY sessions DESC, page
LIMIT {limit:UInt32}
