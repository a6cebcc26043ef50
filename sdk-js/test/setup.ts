/**
 * happy-dom's navigator.sendBeacon starts a fetch and never handles its rejection, so a
 * beacon to a server that a test already closed becomes an "unhandled error" in vitest. A
 * browser's beacon has no observable failure; make happy-dom's behave the same. (Test
 * files in the node environment have no navigator.)
 */
if (typeof navigator != 'undefined' && typeof navigator.sendBeacon == 'function')
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    writable: true,
    value(url: string, data?: BodyInit | null) {
      fetch(url, { method: 'POST', body: data ?? null }).catch(() => undefined);
      return true;
    },
  });
