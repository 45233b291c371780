/**
 * The AsyncAPI document (docs/asyncapi/asyncapi.yaml) against its sources: regenerating it from
 * the subject catalog and the protos must give the checked-in text, it must be a valid AsyncAPI
 * 3.0 document, and its channels / streams must be exactly the catalog's. (The e2e spec checks it
 * once more against the streams the running services provision on NATS.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import asyncapiSpecs from '@asyncapi/specs';
import { ALL_SUBJECTS, STREAMS } from '@medtune/contracts';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildAsyncApi, buildDescriptorImage, channelId, renderAsyncApi, streamOf, subjectMatches } from './asyncapi';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const docPath = path.join(root, 'docs/asyncapi/asyncapi.yaml');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

type Doc = {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }>; 'x-medtune-stream': string }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { messages: Record<string, { payload: { $ref: string }; 'x-protobuf-message': string }>; schemas: Record<string, { properties?: Record<string, unknown> }> };
  'x-medtune-streams': { name: string; subjects: string[] }[];
};

let checkedIn: string;
let doc: Doc;

beforeAll(() => {
  checkedIn = readFileSync(docPath, 'utf8');
  doc = parse(checkedIn) as Doc;
});

describe('docs/asyncapi/asyncapi.yaml', () => {
  it('is what the generator makes from the catalog and the protos (run `npx tsx test/contracts/generate-asyncapi.ts` after changing either)', () => {
    const fresh = renderAsyncApi(buildAsyncApi(buildDescriptorImage(root), { version }));
    expect(checkedIn).toBe(fresh);
  });

  it('is a valid AsyncAPI 3.0.0 document', () => {
    // The AsyncAPI schema bundles the draft-07 meta-schema itself: do not add ajv's own copy.
    const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
    addFormats(ajv);
    const validate = ajv.compile(asyncapiSpecs.schemas['3.0.0'] as object);
    const ok = validate(doc);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5), null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('has one channel per catalog subject, on the stream whose filter covers it, and nothing else', () => {
    const addresses = Object.values(doc.channels).map((c) => c.address).sort();
    expect(addresses).toEqual(ALL_SUBJECTS.map((s) => s.subject).sort());
    for (const s of ALL_SUBJECTS) {
      const ch = doc.channels[channelId(s.subject)];
      expect(ch?.address).toBe(s.subject);
      expect(ch?.['x-medtune-stream']).toBe(streamOf(s.subject)?.name);
      const [msgName] = Object.keys(ch!.messages);
      expect(doc.components.messages[msgName!]?.['x-protobuf-message']).toBe(s.messageType);
    }
    expect(doc['x-medtune-streams']).toEqual(Object.values(STREAMS).map((s) => expect.objectContaining({ name: s.name, subjects: [...s.subjects] })));
    // every subject in exactly one stream
    for (const s of ALL_SUBJECTS) expect(Object.values(STREAMS).filter((st) => st.subjects.some((f) => subjectMatches(f, s.subject)))).toHaveLength(1);
  });

  it('describes each payload with the fields of its protobuf message, and each operation points at a channel', () => {
    const jobState = doc.components.schemas['medtune.events.v1.JobStateChanged'];
    expect(Object.keys(jobState?.properties ?? {})).toEqual(['job', 'previousState', 'state', 'reason', 'time', 'sequence']);
    const job = doc.components.schemas['medtune.training.v1.Job'];
    expect(job?.properties?.['registerAs']).toMatchObject({ type: 'string', 'x-protobuf-field': { name: 'register_as', number: 16 } });
    expect(doc.components.schemas['medtune.training.v1.JobState']).toMatchObject({ type: 'string', enum: expect.arrayContaining(['JOB_STATE_SUCCEEDED']) });
    for (const m of Object.values(doc.components.messages)) expect(doc.components.schemas[m.payload.$ref.replace('#/components/schemas/', '')]).toBeDefined();
    for (const op of Object.values(doc.operations)) {
      expect(op.action).toBe('receive');
      expect(doc.channels[op.channel.$ref.replace('#/channels/', '')]).toBeDefined();
    }
  });

  it('matches NATS subject filters the way the server does', () => {
    expect(subjectMatches('medtune.training.>', 'medtune.training.job.succeeded')).toBe(true);
    expect(subjectMatches('medtune.training.>', 'medtune.training')).toBe(false);
    expect(subjectMatches('medtune.*.job.*', 'medtune.training.job.queued')).toBe(true);
    expect(subjectMatches('medtune.*.job', 'medtune.training.job.queued')).toBe(false);
  });
});
