-- Details the dashboards' drill-downs read for millions of events, as columns of their own so a
-- query reads a few numbers instead of decompressing and parsing every event's `data` JSON.
-- Each DEFAULT takes the value from `data` when the processor does not send the column, so
-- rows of every age have it (older ones compute it on read).

-- The Navigation Timing phases of a page load (LOAD measurements' data.breakdown, ms):
-- redirect, dns, tcp, tls, request, response, dom, load. Empty for other events.
ALTER TABLE events ADD COLUMN IF NOT EXISTS timings Map(String, Float64) DEFAULT
    if(type = 'web_vital' AND vital_name = 'LOAD', JSONExtract(data, 'breakdown', 'Map(String, Float64)'), map());

-- Resources (type = resource): how they were requested and how many bytes came over the network.
ALTER TABLE events ADD COLUMN IF NOT EXISTS initiator LowCardinality(String) DEFAULT
    if(type = 'resource', JSONExtractString(data, 'initiator_type'), '');
ALTER TABLE events ADD COLUMN IF NOT EXISTS transfer_size UInt32 DEFAULT
    if(type = 'resource', toUInt32(least(JSONExtractUInt(data, 'transfer_size'), 4294967295)), 0);
