"""The simulator's shop: synthetic traffic of a fictional shop, exactly as Vigil's browser SDK would send it.

Pure functions, no I/O and no clock: give them a ``random.Random`` and a start time and they
return batch envelopes (contract v1) with the ``User-Agent`` each would arrive with. The
simulator (``vigil simulate``) sends them through the collector; tests and benchmarks use
them directly.

Two modules: :mod:`~pipeline.simulation.shop_catalog` (the shop, its funnel, the devices,
the Web Vitals models and the visitors) and :mod:`~pipeline.simulation.shop_sessions` (one
session walked page by page into the batches the SDK would send, and the live interleaved
stream of them).

The model, in the write-up's terms:

- **Visitors** keep their id (and, once they signed in, their user id) across sessions;
  about a third of sessions come from returning visitors (:class:`VisitorPool`).
- **Devices**: a visitor is a desktop, mobile or tablet browser, known to the server only
  by its real-world user-agent string (the collector stamps it, the processor parses it).
- **Sessions** walk the shop — home → category → product → cart → checkout → confirmation
  (plus search) — with a drop-off at every step (:data:`NEXT_STEP`); a failed payment ends
  the visit at checkout.
- **Web Vitals** per page load, log-normal per device class: LCP p75 ≈ 2.5 s on mobile and
  ≈ 1.8 s on desktop, FCP/TTFB/TTI/LOAD consistent with it (one navigation-timing breakdown),
  CLS mostly 0 with a tail, INP only on pages the visitor interacted with.
- **Behaviour**: resources, API calls (some failing: 5xx, network, timeout), clicks with
  positions, form submits, time on page, custom events, identify at sign-in.
- **Errors**: a background of the usual browser noise, and a release with a bug
  (:data:`BUGGY_RELEASE`) that throws a burst of the same ``TypeError`` with its stack when a
  product without a discount renders — often during an incident, rarely otherwise.
- **Batches** follow the SDK's queue: flush at 20 events, 5 s after the first queued event,
  and when the page is hidden; a batch never spans two pages.
"""
