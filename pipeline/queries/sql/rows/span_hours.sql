-- Every hour of the whole hours [hours_start, hours_end), one row each.
SELECT arrayJoin(arrayMap(n -> toDateTime({hours_start:DateTime64(3, 'UTC')}, 'UTC') + toIntervalHour(n),
                          range(toUInt64(dateDiff('hour', {hours_start:DateTime64(3, 'UTC')},
                                                  {hours_end:DateTime64(3, 'UTC')}))))) AS hour
