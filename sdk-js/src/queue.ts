/**
 * Batching, retrying and keeping events until the collector has them.
 *
 * Events are serialised once, when queued. A batch leaves when it reaches `batchSize`
 * events or `flushInterval` after its first event, whichever comes first, and never
 * exceeds the transport's size limit. Failed batches go back to the front of the queue and
 * are retried with exponential backoff and jitter (at least `Retry-After`); nothing is
 * sent while the browser says it is offline, and the `online` event resumes at once.
 *
 * Retries are bounded, so one event the collector always fails on never holds the others:
 * each event counts the attempts it failed in (what each failure costs is the transport's
 * call: nothing when the collector is only busy). Every {@link ATTEMPTS} attempts its batch
 * is at least halved (batches are capped at `batchSize >> (attempts / ATTEMPTS)`), down to
 * the event alone; alone, it gets {@link ATTEMPTS} more, then it is dropped and counted.
 *
 * What cannot be sent when the page is hidden (offline, collector asking to wait, beacon
 * refused) is written to localStorage, bounded, and sent by the next page load of the site.
 * Retries reuse each event's `event_id`, which is how the warehouse de-duplicates.
 */
import type { EnvelopeContext, Sdk, VigilEvent } from './contract';
import { guard } from './lib/guard';
import { warn } from './lib/log';
import type { Store } from './lib/storage';
import { uid } from './lib/uid';
import { ATTEMPTS, DELIVERED, type Outcome, type Transport } from './transport';

// Each page load keeps its unsent events under its own key, so tabs never overwrite each
// other; the next page load claims every key with the prefix.
const STORE_PREFIX = 'vigil.q.';
const MAX_BACKOFF_MS = 60000;
const ENVELOPE_OVERHEAD = 400; // room for version, sdk and context around the events

export interface QueueOptions {
  batchSize: number;
  flushInterval: number;
  /** Events kept in memory; the oldest are dropped beyond it. */
  maxQueue: number;
  /** Events kept in localStorage for the next page load. */
  maxStored: number;
}

export interface Queue {
  push(event: VigilEvent): void;
  /** Send what is queued now (a live page). */
  flush(): void;
  /**
   * The page is being hidden or closed: beacon everything, store what cannot go. `closing`
   * (a `pagehide` that does not keep the page) closes the queue: later events are stored.
   */
  flushHidden(closing?: boolean): void;
  /** Where unsent events are kept between page loads; none in the cookieless mode. */
  setStore(store: Store | undefined): void;
}

export const backoffMs = (attempt: number): number =>
  Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);

/** The body for a batch of serialised events. */
export const envelope = (sdk: Sdk, context: EnvelopeContext, events: string[]): string =>
  '{"version":1,"sdk":' + JSON.stringify(sdk) + ',"context":' + JSON.stringify(context) +
  ',"events":[' + events.join(',') + ']}';

/**
 * Take the events earlier page loads left in storage (removing them), with their failed
 * attempts: stored as a number in front of the event.
 */
const claimStored = (store: Store | undefined, tries: Map<string, number>): string[] => {
  const events: string[] = [];
  if (store)
    store.keys(STORE_PREFIX).forEach((key) => {
      try {
        let n = 0;
        (JSON.parse(store.get(key)!) as unknown[]).forEach((e) =>
          typeof e == 'number' ? (n = e) : (tries.set(events[events.push(JSON.stringify(e)) - 1], n), (n = 0)),
        );
      } catch {
        /* unreadable: dropped */
      }
      store.del(key);
    });
  return events;
};

// Large optional parts an oversized event can lose and still be useful.
const TRIMMABLE = ['breadcrumbs', 'stack', 'props', 'traits', 'frames'];

export const createQueue = (
  transport: Transport,
  sdk: Sdk,
  context: () => EnvelopeContext,
  o: QueueOptions,
  initialStore: Store | undefined,
): Queue => {
  let store = initialStore;
  // Failed attempts of the events that have failed or were stored (see ATTEMPTS).
  const tries = new Map<string, number>();
  let items = claimStored(store, tries);
  let dropped = 0;
  const storeKey = STORE_PREFIX + uid();
  let stored = false; // storeKey holds events
  let sending = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  let retryTimer: ReturnType<typeof setTimeout> | 0 = 0;
  let attempts = 0;
  // An unloading page would see its answers no more: what it sent from now on would also stay
  // in storage and go again with the next page load. (Chromium fires `online` on a page it is
  // closing when network emulation ends with it.)
  let unloading = false;
  const limit = transport.limit - ENVELOPE_OVERHEAD;
  const offline = () => typeof navigator != 'undefined' && navigator.onLine === false;
  const wrap = (batch: string[]) => envelope(sdk, context(), batch);

  /** The largest batch an event that failed `n` attempts may go in; 0: give it up. */
  const room = (n = 0) => o.batchSize >> (n / ATTEMPTS);
  const forget = (batch: string[]) => batch.forEach((s) => tries.delete(s));

  const take = () => {
    let size = 0;
    let n = 0;
    let max = o.batchSize;
    // (An event stored by a page with a larger batchSize may be past this page's bound: it goes alone.)
    while (n < items.length && n < (max = Math.min(max, room(tries.get(items[n])) || 1)) && (!n || size + items[n].length < limit))
      size += items[n++].length + 1;
    return items.splice(0, n);
  };

  /**
   * Charge a failed batch's events `cost` attempts each. An event that enters a new round of
   * ATTEMPTS goes on in a batch smaller than this one; one that failed alone is dropped.
   */
  const charge = (batch: string[], cost: number) =>
    batch.filter((s) => {
      const before = tries.get(s) || 0;
      let n = before + cost;
      // A new round: skip the sizes that would not split this batch.
      while (room(n) < room(before) && room(n) >= batch.length) n += ATTEMPTS;
      if (room(n)) return tries.set(s, n);
      tries.delete(s);
      warn('gave up on an event,', ++dropped, 'so far:', s.slice(0, 200));
    });

  /** Mirror the unsent events into storage, the batch context folded into each. */
  const persist = () => {
    if (!store || (!items.length && !stored)) return;
    const ctx = JSON.stringify(context()).slice(1, -1);
    // The context goes in front of the event's own fields: in JSON.parse the last key wins.
    // An event's failed attempts go in front of it (claimStored reads them back).
    const events = items.slice(-o.maxStored).map((s) => (tries.get(s) ? tries.get(s) + ',{' : '{') + ctx + ',' + s.slice(1));
    if ((stored = events.length > 0)) store.set(storeKey, '[' + events + ']');
    else store.del(storeKey);
  };

  const schedule = () => {
    if (items.length >= o.batchSize) flush();
    else if (items.length && !timer) timer = setTimeout(flush, o.flushInterval);
  };

  const flush = guard(() => {
    clearTimeout(timer);
    timer = 0;
    // Asked to send while a batch is in flight: go again as soon as it is answered.
    if (sending) return (again = true);
    if (retryTimer || !items.length) return;
    if (offline() || unloading) return persist();
    const batch = take();
    // Events were left behind by the batch limits: a backlog, sent without waiting.
    const backlog = items.length > 0;
    sending = true;
    transport.send(wrap(batch)).then(
      guard((outcome: Outcome) => {
        sending = false;
        if (outcome == DELIVERED) {
          forget(batch);
          attempts = 0;
          // Storage is only written when sending failed; once it works again, catch it up.
          if (stored) persist();
          if (backlog || again) flush();
          else schedule();
          again = false;
          return;
        }
        const [retryIn, cost] = outcome;
        items = (cost ? charge(batch, cost) : batch).concat(items);
        const wait = Math.max(retryIn, backoffMs(++attempts));
        warn('send failed; retrying in', Math.round(wait), 'ms');
        retryTimer = setTimeout(() => {
          retryTimer = 0;
          flush();
        }, wait);
        persist();
      }),
    );
  });

  const flushHidden = guard((closing?: boolean) => {
    unloading = unloading || !!closing;
    // Offline, or the collector asked us to wait: keep the events for later.
    if (!retryTimer && !offline()) {
      while (items.length) {
        const batch = take();
        if (!transport.sendNow(wrap(batch))) {
          items = batch.concat(items);
          break;
        }
        forget(batch);
      }
    }
    persist();
  });

  if (typeof addEventListener == 'function')
    addEventListener(
      'online',
      guard(() => {
        clearTimeout(retryTimer);
        retryTimer = 0;
        attempts = 0;
        flush();
      }),
    );
  if (items.length) setTimeout(flush, 0);

  return {
    push: guard((event: VigilEvent) => {
      let s = JSON.stringify(event);
      if (s.length > limit && event.data) {
        const data = event.data as unknown as Record<string, unknown>;
        TRIMMABLE.forEach((k) => delete data[k]);
        s = JSON.stringify(event);
      }
      if (s.length > limit) return warn('event too large, dropped:', event.type);
      if (items.push(s) > o.maxQueue) tries.delete(items.shift()!);
      schedule();
    }),
    flush,
    flushHidden,
    setStore(next) {
      if (!next && store) store.del(storeKey);
      store = next;
    },
  };
};
