-- How long pages stay visible (time_on_page events): the histograms of the paths with the most
-- views, from time_on_page_day's sealed days, time_on_page_hour's sealed hours and the raw events. The
-- day and hour lookups (rows/sealed_days) are defined once, here: each copy would run again.
WITH
    -- include: rows/sealed_days
    , histogram AS
    (
        -- include: rows/time_on_page
    )
-- include: rows/top_histograms
