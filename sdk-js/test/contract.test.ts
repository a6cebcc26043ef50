/**
 * The SDK and the collector agree on the contract:
 * 1. the shared vectors (contract/vectors) pass or fail here exactly as in pipeline/contract;
 * 2. src/contract.ts declares the same objects, fields and enums as the JSON Schema;
 * 3. envelopes the real SDK sends, for every event type, are valid.
 */
import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Envelope } from '../src/contract';
import { envelopeSchema, eventSchema, mergeContext, validateBody } from './contractValidator';
import { repoPath, setVisibility, startServer, waitFor, type LocalServer } from './helpers';

const VECTORS = repoPath('contract/vectors/');
const vectors = (kind: 'valid' | 'invalid') =>
  readdirSync(VECTORS + kind)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(VECTORS + kind + '/' + f, 'utf8'))] as const);

describe('shared contract vectors', () => {
  test('there are vectors of both kinds', () => {
    expect(vectors('valid').length).toBeGreaterThan(5);
    expect(vectors('invalid').length).toBeGreaterThan(5);
  });

  test.each(vectors('valid'))('valid: %s', (_file, vector) => {
    expect(validateBody(JSON.stringify(vector.envelope), new Date(vector.now))).toEqual([]);
  });

  test.each(vectors('invalid'))('invalid: %s', (_file, vector) => {
    const body = 'body' in vector ? vector.body : JSON.stringify(vector.envelope);
    const [rejection] = validateBody(body, new Date(vector.now));
    expect(rejection).toEqual({
      level: vector.level,
      reason: vector.reason,
      path: vector.path,
      ...(vector.level == 'event' ? { index: vector.index } : { index: undefined }),
    });
  });
});

describe('src/contract.ts matches the JSON Schema', () => {
  const file = repoPath('sdk-js/src/contract.ts');
  const program = ts.createProgram([file], { strict: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
  const declared = (name: string) => {
    const symbol = exported.find((s) => s.name == name);
    if (!symbol) throw new Error('src/contract.ts does not declare ' + name);
    return checker.getDeclaredTypeOfSymbol(symbol);
  };
  /** Property name → required, of a declared interface. */
  const fields = (name: string) =>
    Object.fromEntries(declared(name).getProperties().map((p) => [p.name, !(p.flags & ts.SymbolFlags.Optional)]));
  /** String literal members of a declared union. */
  const members = (name: string) => {
    const type = declared(name);
    return (type.isUnion() ? type.types : [type]).map((t) => (t as ts.StringLiteralType).value).sort();
  };
  const schemaFields = (schema: { properties: Record<string, unknown>; required?: string[] }) =>
    Object.fromEntries(Object.keys(schema.properties).map((k) => [k, (schema.required || []).includes(k)]));
  const defs = eventSchema.$defs;

  test.each([
    ['sdk', 'Sdk'],
    ['page', 'Page'],
    ['page_view', 'PageViewData'],
    ['web_vital', 'WebVitalData'],
    ['resource', 'ResourceData'],
    ['frame', 'Frame'],
    ['breadcrumb', 'Breadcrumb'],
    ['error', 'ErrorData'],
    ['exception', 'ExceptionData'],
    ['api_call', 'ApiCallData'],
    ['click', 'ClickData'],
    ['form_submit', 'FormSubmitData'],
    ['time_on_page', 'TimeOnPageData'],
    ['custom', 'CustomData'],
    ['identify', 'IdentifyData'],
  ])('$defs/%s ⇔ %s', (def, name) => {
    expect(fields(name)).toEqual(schemaFields(defs[def]));
  });

  test('web_vital attribution ⇔ VitalAttribution', () => {
    expect(fields('VitalAttribution')).toEqual(schemaFields(defs.web_vital.properties.attribution));
  });

  test('the event ⇔ VigilEvent (ids may come from the envelope context)', () => {
    const schema = schemaFields(eventSchema);
    expect(fields('VigilEvent')).toEqual({ ...schema, session_id: false, visitor_id: false });
  });

  test('the envelope and its context ⇔ Envelope, EnvelopeContext', () => {
    expect(fields('Envelope')).toEqual(schemaFields(envelopeSchema));
    expect(fields('EnvelopeContext')).toEqual(schemaFields(envelopeSchema.properties.context));
  });

  test.each([
    ['EventType', eventSchema.properties.type.enum],
    ['NavigationType', defs.page_view.properties.navigation_type.enum],
    ['VitalName', defs.web_vital.properties.name.enum],
    ['Rating', defs.web_vital.properties.rating.enum],
    ['ErrorKind', defs.error.properties.kind.enum],
    ['ApiFailure', defs.api_call.properties.failure.enum],
    ['BreadcrumbLevel', defs.breadcrumb.properties.level.enum],
  ])('%s has the schema enum members', (name, values) => {
    expect(members(name)).toEqual([...values].sort());
  });
});

describe('envelopes the SDK sends are valid', () => {
  let server: LocalServer;
  const navigation = {
    name: location.href,
    entryType: 'navigation',
    type: 'navigate',
    startTime: 0,
    activationStart: 0,
    redirectStart: 0,
    redirectEnd: 0,
    domainLookupStart: 1,
    domainLookupEnd: 5,
    connectStart: 5,
    secureConnectionStart: 0,
    connectEnd: 9,
    requestStart: 10,
    responseStart: 40,
    responseEnd: 60,
    domInteractive: 300,
    domComplete: 500,
    loadEventStart: 501,
    loadEventEnd: 510,
  };
  const resources = [
    { name: 'http://shop.example.com/app.js', entryType: 'resource', initiatorType: 'script', startTime: 50, responseEnd: 250, transferSize: 5000 },
    { name: 'http://shop.example.com/hero.webp', entryType: 'resource', initiatorType: 'img', startTime: 60, responseEnd: 900, transferSize: 90000 },
  ];

  beforeAll(async () => {
    server = await startServer({
      '/api/cart': (_req, res) => res.writeHead(500).end('oops'),
      '/api/ok': (_req, res) => res.writeHead(200).end('{}'),
    });
    // happy-dom has no Navigation or Resource Timing: give the page a realistic buffer.
    const byType = performance.getEntriesByType.bind(performance);
    vi.spyOn(performance, 'getEntriesByType').mockImplementation((type: string) =>
      type == 'navigation' ? ([navigation] as never) : type == 'resource' ? (resources as never) : byType(type),
    );
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], shouldAdvanceTime: true });
    const Vigil = await import('../src/index');
    Vigil.init({ endpoint: server.url, projectId: 'shop', key: 'pk_test', release: 'shop@2.4.1', batchSize: 1000, maxResources: 5 });
    Vigil.identify('user-1234', { plan: 'pro' });
    Vigil.setTag('ab', 'b');
    Vigil.track('coupon_applied', { code: 'SPRING' });
    Vigil.captureException(new TypeError('handled'));
    Vigil.captureMessage('checkout slow');
    document.body.innerHTML = '<button id="buy" data-vigil-product="42">Buy</button><form id="checkout"></form><img src="http://cdn.example.net/x.webp">';
    document.querySelector('button')!.click();
    document.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true }));
    document.querySelector('img')!.dispatchEvent(new Event('error'));
    dispatchEvent(new ErrorEvent('error', { error: new RangeError('bad'), message: 'bad', filename: 'http://shop.example.com/app.js', lineno: 1, colno: 2 }));
    dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: 'timeout' }));
    await fetch(server.url + '/api/cart');
    await fetch(server.url + '/api/ok');
    history.pushState({}, '', '/cart');
    await vi.advanceTimersByTimeAsync(2000); // navigation + resource timings after load
    setVisibility('hidden'); // time on page, then everything goes by beacon
    await waitFor(() => server.envelopes().length > 0);
    vi.useRealTimers();
  });
  afterAll(() => server.close());

  test('every event type is sent, and every envelope validates', () => {
    const envelopes = server.envelopes();
    for (const envelope of envelopes) expect(validateBody(JSON.stringify(envelope))).toEqual([]);
    const events = envelopes.flatMap((e) => mergeContext(e as never) as Envelope['events']);
    expect([...new Set(events.map((e) => e.type))].sort()).toEqual([...eventSchema.properties.type.enum].sort());
    const vitals = events.filter((e) => e.type == 'web_vital').map((e) => (e.data as { name: string }).name);
    expect(vitals).toEqual(expect.arrayContaining(['LOAD', 'TTI', 'TTFB']));
    const errors = events.filter((e) => e.type == 'error').map((e) => (e.data as { kind: string }).kind);
    expect(new Set(errors)).toEqual(new Set(['js', 'promise', 'resource', 'api']));
  });
});
