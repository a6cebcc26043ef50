-- How long pages stay visible (time_on_page events): the histograms of the paths with the most
-- views, from time_on_page_hour's sealed hours and the raw events.
WITH histogram AS
(
    -- include: rows/time_on_page
)
-- include: rows/top_histograms
