-- What the SDK blamed for one Web Vital (LCP element, INP target, CLS source): the histograms of
-- the targets with the most samples, from vital_target_hour's sealed hours and the raw events.
WITH histogram AS
(
    -- include: rows/vital_targets
)
-- include: rows/top_histograms
