/**
 * The collector's contract check, in TypeScript, for the SDK's tests: the same steps as
 * pipeline/contract (envelope schema → version → each event merged with the context →
 * event schema → timestamp window) on the same JSON Schema files, with ajv, and the same
 * closed vocabulary of reasons the shared vectors name.
 */
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';

import { repoPath } from './helpers';

const SCHEMA_DIR = repoPath('contract/schema/v1/');
export const eventSchema = JSON.parse(readFileSync(SCHEMA_DIR + 'event.schema.json', 'utf8'));
export const envelopeSchema = JSON.parse(readFileSync(SCHEMA_DIR + 'envelope.schema.json', 'utf8'));

const ajv = new Ajv2020({ allErrors: false, strict: false });
addFormats(ajv);
ajv.addSchema(eventSchema);
const checkEnvelope = ajv.compile(envelopeSchema);
const checkEvent = ajv.getSchema(eventSchema.$id)!;

const REASON: Record<string, string> = {
  required: 'missing_field',
  type: 'wrong_type',
  enum: 'unknown_value',
  const: 'unknown_value',
  format: 'bad_format',
  pattern: 'bad_format',
  minimum: 'out_of_range',
  maximum: 'out_of_range',
  minLength: 'too_short',
  maxLength: 'too_long',
  minItems: 'too_few',
  maxItems: 'too_many',
  maxProperties: 'too_many',
  not: 'too_deep', // the schema's only `not` is $defs/depth_0, the floor of its nesting bound
};
const CONTEXT_FIELDS = ['session_id', 'visitor_id', 'user_id', 'release', 'environment', 'page'];
const DAY = 24 * 3600 * 1000;

export interface Rejection {
  level: 'envelope' | 'event';
  index?: number;
  reason: string;
  path: string;
}

const rejection = (errors: ErrorObject[] | null | undefined, level: Rejection['level'], index?: number): Rejection => {
  // The deepest error names the field at fault (if/then wrappers come after it).
  const e = errors!.find((x) => x.keyword != 'if' && x.keyword != 'allOf') || errors![0];
  const parts = e.instancePath.split('/').filter(Boolean);
  if (e.keyword == 'required') parts.push((e.params as { missingProperty: string }).missingProperty);
  return { level, index, reason: REASON[e.keyword] || 'wrong_type', path: parts.join('.') };
};

/** The context-merged events of an envelope, as the collector produces them. */
export const mergeContext = (envelope: Record<string, unknown>): unknown[] => {
  const context = (envelope.context || {}) as Record<string, unknown>;
  return (envelope.events as unknown[]).map((event) => {
    if (!event || typeof event != 'object' || Array.isArray(event)) return event;
    const merged: Record<string, unknown> = {};
    for (const k of CONTEXT_FIELDS) if (k in context) merged[k] = context[k];
    Object.assign(merged, event);
    // tags that are not an object stay as sent, for the schema to refuse (wrong_type)
    const own = (event as { tags?: unknown }).tags;
    if (context.tags && (own === undefined || own === null || (typeof own == 'object' && !Array.isArray(own))))
      merged.tags = { ...(context.tags as object), ...((own as object) || {}) };
    if (!('sdk' in merged)) merged.sdk = envelope.sdk;
    return merged;
  });
};

/** Every rejection of a request body (a JSON string), or [] when all its events are accepted. */
export const validateBody = (body: string, now = new Date()): Rejection[] => {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return [{ level: 'envelope', reason: 'invalid_json', path: '' }];
  }
  if (!envelope || typeof envelope != 'object' || Array.isArray(envelope)) return [{ level: 'envelope', reason: 'not_an_object', path: '' }];
  const version = (envelope as { version?: unknown }).version;
  if (Number.isInteger(version) && version != 1) return [{ level: 'envelope', reason: 'unsupported_version', path: 'version' }];
  if (!checkEnvelope(envelope)) return [rejection(checkEnvelope.errors, 'envelope')];
  const rejections: Rejection[] = [];
  mergeContext(envelope as Record<string, unknown>).forEach((event, index) => {
    if (!event || typeof event != 'object' || Array.isArray(event)) return rejections.push({ level: 'event', index, reason: 'not_an_object', path: '' });
    if (!checkEvent(event)) return rejections.push(rejection(checkEvent.errors, 'event', index));
    const when = Date.parse((event as { timestamp: string }).timestamp);
    if (when > now.getTime() + DAY || when < now.getTime() - 30 * DAY)
      rejections.push({ level: 'event', index, reason: 'timestamp_out_of_range', path: 'timestamp' });
  });
  return rejections;
};
