/**
 * Builds medtune's AsyncAPI 3.0 document from the subject catalog (@medtune/contracts SUBJECTS /
 * STREAMS) and the protobuf descriptors of proto/ (read with `buf build`, comments included): one
 * channel per subject with its payload (the protobuf message name and a JSON schema of its
 * fields, following the protobuf JSON mapping) and its CloudEvents / Nats-Msg-Id headers.
 * docs/asyncapi/asyncapi.yaml is its output; test/contracts/asyncapi.unit.spec.ts fails when the
 * checked-in document and the catalog or the protos differ.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ALL_SUBJECTS, STREAMS, type StreamSpec, type SubjectSpec } from '@medtune/contracts';
import { stringify } from 'yaml';

/** The parts of a protobuf FileDescriptorSet (buf's JSON image) the generator reads. */
interface FieldDescriptor {
  name: string;
  jsonName?: string;
  number: number;
  label?: string;
  type: string;
  typeName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}
interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  oneofDecl?: { name: string }[];
  options?: { mapEntry?: boolean };
}
interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}
interface FileDescriptor {
  name: string;
  package: string;
  messageType?: MessageDescriptor[];
  enumType?: EnumDescriptor[];
  sourceCodeInfo?: { location: { path?: number[]; leadingComments?: string }[] };
}

/** The descriptor image of proto/ (source info kept for the comments). */
export function buildDescriptorImage(repoRoot: string): { file: FileDescriptor[] } {
  const out = execFileSync(path.join(repoRoot, 'node_modules/.bin/buf'), ['build', '-o', '-#format=json'], { cwd: path.join(repoRoot, 'proto'), maxBuffer: 64 << 20 });
  return JSON.parse(out.toString('utf8')) as { file: FileDescriptor[] };
}

interface TypeInfo {
  kind: 'message' | 'enum';
  message?: MessageDescriptor;
  enumType?: EnumDescriptor;
  comment: string;
  fieldComments: Map<string, string>;
}

/** Every message and enum by fully qualified name, with its comments. */
function indexTypes(image: { file: FileDescriptor[] }): Map<string, TypeInfo> {
  const types = new Map<string, TypeInfo>();
  for (const f of image.file) {
    const comments = new Map<string, string>();
    for (const loc of f.sourceCodeInfo?.location ?? []) if (loc.path && loc.leadingComments) comments.set(loc.path.join('.'), clean(loc.leadingComments));
    const addMessage = (m: MessageDescriptor, prefix: string, p: string) => {
      const fq = `${prefix}.${m.name}`;
      const fieldComments = new Map<string, string>();
      (m.field ?? []).forEach((fd, i) => {
        const c = comments.get(`${p}.2.${i}`);
        if (c) fieldComments.set(fd.name, c);
      });
      types.set(fq, { kind: 'message', message: m, comment: comments.get(p) ?? '', fieldComments });
      (m.nestedType ?? []).forEach((n, i) => addMessage(n, fq, `${p}.3.${i}`));
      (m.enumType ?? []).forEach((e, i) => types.set(`${fq}.${e.name}`, { kind: 'enum', enumType: e, comment: comments.get(`${p}.4.${i}`) ?? '', fieldComments: new Map() }));
    };
    (f.messageType ?? []).forEach((m, i) => addMessage(m, `.${f.package}`, `4.${i}`));
    (f.enumType ?? []).forEach((e, i) => types.set(`.${f.package}.${e.name}`, { kind: 'enum', enumType: e, comment: comments.get(`5.${i}`) ?? '', fieldComments: new Map() }));
  }
  return types;
}

function clean(comment: string): string {
  return comment
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

type JsonSchema = Record<string, unknown>;

const SCALARS: Record<string, JsonSchema> = {
  TYPE_DOUBLE: { type: 'number' },
  TYPE_FLOAT: { type: 'number' },
  TYPE_INT32: { type: 'integer', format: 'int32' },
  TYPE_SINT32: { type: 'integer', format: 'int32' },
  TYPE_SFIXED32: { type: 'integer', format: 'int32' },
  TYPE_UINT32: { type: 'integer', format: 'uint32', minimum: 0 },
  TYPE_FIXED32: { type: 'integer', format: 'uint32', minimum: 0 },
  // The protobuf JSON mapping writes 64-bit integers as strings; ts-proto (forceLong=number) as numbers.
  TYPE_INT64: { type: ['integer', 'string'], format: 'int64' },
  TYPE_SINT64: { type: ['integer', 'string'], format: 'int64' },
  TYPE_SFIXED64: { type: ['integer', 'string'], format: 'int64' },
  TYPE_UINT64: { type: ['integer', 'string'], format: 'uint64' },
  TYPE_FIXED64: { type: ['integer', 'string'], format: 'uint64' },
  TYPE_BOOL: { type: 'boolean' },
  TYPE_STRING: { type: 'string' },
  TYPE_BYTES: { type: 'string', contentEncoding: 'base64' },
};

/** The name a type gets under components/schemas: its full name without the leading dot. */
export function schemaName(fq: string): string {
  return fq.replace(/^\./, '');
}

/** JSON schemas of `roots` and every type they reach, by schema name. */
function schemasFor(types: Map<string, TypeInfo>, roots: readonly string[]): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  const queue = [...roots];
  const ref = (fq: string) => {
    if (!(schemaName(fq) in out) && !queue.includes(fq)) queue.push(fq);
    return { $ref: `#/components/schemas/${schemaName(fq)}` };
  };
  const fieldSchema = (fd: FieldDescriptor): JsonSchema => {
    if (fd.type === 'TYPE_MESSAGE' || fd.type === 'TYPE_ENUM') {
      const fq = fd.typeName!;
      if (fq === '.google.protobuf.Timestamp') return { type: 'string', format: 'date-time' };
      const t = types.get(fq);
      if (t?.message?.options?.mapEntry) {
        const value = t.message.field!.find((f) => f.name === 'value')!;
        return { type: 'object', additionalProperties: fieldSchema(value) };
      }
      return ref(fq);
    }
    const s = SCALARS[fd.type];
    if (!s) throw new Error(`unmapped protobuf type ${fd.type}`);
    return { ...s };
  };
  while (queue.length > 0) {
    const fq = queue.shift()!;
    const name = schemaName(fq);
    if (name in out) continue;
    const t = types.get(fq);
    if (!t) throw new Error(`unknown protobuf type ${fq}`);
    if (t.kind === 'enum') {
      out[name] = { title: name, description: t.comment || undefined, type: 'string', enum: t.enumType!.value.map((v) => v.name), 'x-protobuf-enum-numbers': Object.fromEntries(t.enumType!.value.map((v) => [v.name, v.number])) };
      continue;
    }
    const m = t.message!;
    const properties: Record<string, JsonSchema> = {};
    const oneofs = new Map<number, string[]>();
    for (const fd of m.field ?? []) {
      let s = fieldSchema(fd);
      const isMap = fd.type === 'TYPE_MESSAGE' && types.get(fd.typeName!)?.message?.options?.mapEntry;
      if (fd.label === 'LABEL_REPEATED' && !isMap) s = { type: 'array', items: s };
      const doc = t.fieldComments.get(fd.name);
      properties[fd.jsonName ?? fd.name] = { ...s, ...(doc ? { description: doc } : {}), 'x-protobuf-field': { name: fd.name, number: fd.number } };
      if (fd.oneofIndex !== undefined && !fd.proto3Optional) {
        const list = oneofs.get(fd.oneofIndex) ?? [];
        list.push(fd.jsonName ?? fd.name);
        oneofs.set(fd.oneofIndex, list);
      }
    }
    const oneofNote = [...oneofs.entries()].map(([i, fields]) => `oneof ${m.oneofDecl?.[i]?.name}: at most one of ${fields.join(', ')}`);
    out[name] = {
      title: name,
      description: [t.comment, ...oneofNote].filter(Boolean).join(' ') || undefined,
      type: 'object',
      additionalProperties: false,
      properties,
      ...(oneofs.size ? { 'x-protobuf-oneofs': Object.fromEntries([...oneofs.entries()].map(([i, f]) => [m.oneofDecl?.[i]?.name ?? String(i), f])) } : {}),
    };
  }
  return out;
}

/** "medtune.training.job.cancel_requested" → "trainingJobCancelRequested". */
export function channelId(subject: string): string {
  return subject
    .replace(/^medtune\./, '')
    .split(/[._]/)
    .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');
}

/** The stream holding a subject (by its subject filter). */
export function streamOf(subject: string, streams: readonly StreamSpec[] = Object.values(STREAMS)): StreamSpec | undefined {
  return streams.find((s) => s.subjects.some((f) => subjectMatches(f, subject)));
}

/** NATS subject matching with `*` and `>`. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

const HEADERS: JsonSchema = {
  type: 'object',
  description: 'CloudEvents-style headers on every message (binary content mode); Nats-Msg-Id = ce-id, so JetStream drops a republished duplicate inside the stream\'s duplicate window (2 minutes).',
  required: ['ce-id', 'ce-type', 'ce-source', 'ce-time', 'ce-specversion', 'content-type', 'Nats-Msg-Id'],
  properties: {
    'ce-id': { type: 'string', description: 'Unique id of the event; for job state transitions "<job_id>:<sequence>", so a transition is published once.' },
    'ce-type': { type: 'string', description: 'The subject without any namespace prefix, e.g. medtune.training.job.succeeded.' },
    'ce-source': { type: 'string', pattern: '^medtune/', description: 'The publisher: medtune/<service>-service (the Python worker: medtune/trainer).' },
    'ce-time': { type: 'string', format: 'date-time', description: 'When the event happened (RFC 3339).' },
    'ce-specversion': { type: 'string', const: '1.0' },
    'content-type': { type: 'string', const: 'application/protobuf', description: 'The payload is the binary protobuf encoding of the message named by x-protobuf-message.' },
    'Nats-Msg-Id': { type: 'string', description: 'Equals ce-id (JetStream de-duplication).' },
  },
};

/** Builds the document (a plain object; stringify it with `yaml`). */
export function buildAsyncApi(image: { file: FileDescriptor[] }, options: { version: string; subjects?: readonly SubjectSpec<unknown>[]; streams?: readonly StreamSpec[] }): Record<string, unknown> {
  const subjects = [...(options.subjects ?? ALL_SUBJECTS)].sort((a, b) => a.subject.localeCompare(b.subject));
  const streams = options.streams ?? Object.values(STREAMS);
  const types = indexTypes(image);
  const messageTypes = [...new Set(subjects.map((s) => s.messageType))].sort();
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const mt of messageTypes) {
    const short = mt.split('.').pop()!;
    const t = types.get(`.${mt}`);
    if (!t) throw new Error(`${mt}: no such protobuf message in proto/`);
    messages[short] = {
      name: short,
      title: short,
      summary: t.comment.split('. ')[0],
      contentType: 'application/protobuf',
      headers: { $ref: '#/components/schemas/CloudEventHeaders' },
      payload: { $ref: `#/components/schemas/${mt}` },
      'x-protobuf-message': mt,
    };
  }
  for (const s of subjects) {
    const id = channelId(s.subject);
    const short = s.messageType.split('.').pop()!;
    const stream = streamOf(s.subject, streams);
    if (!stream) throw new Error(`${s.subject}: no stream's subject filter covers it`);
    channels[id] = {
      address: s.subject,
      title: s.subject,
      description: `${s.description} Payload: ${s.messageType}. Stream: ${stream.name}.`,
      messages: { [short]: { $ref: `#/components/messages/${short}` } },
      'x-medtune-stream': stream.name,
      'x-medtune-publisher': `medtune/${s.domain}-service`,
    };
    operations[`receive${id.charAt(0).toUpperCase()}${id.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${id}` },
      summary: `Subscribe to ${s.subject} (durable JetStream consumer on ${stream.name} with filter ${s.subject}, explicit ack).`,
      messages: [{ $ref: `#/channels/${id}/messages/${short}` }],
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'medtune events',
      version: options.version,
      description: [
        'The facts medtune publishes on NATS JetStream, for programs that react to them.',
        'Subjects are medtune.<domain>.<entity>.<event> (past tense); each domain has one stream.',
        'Payloads are protobuf messages of package medtune.events.v1 (proto/medtune/events/v1/events.proto; generated code: @medtune/contracts for TypeScript, python-services/contracts for Python); the JSON schemas below describe their fields in the protobuf JSON mapping (64-bit integers may be numbers or strings).',
        'Generated by test/contracts/generate-asyncapi.ts from libs/contracts/src/subjects.ts and proto/; do not edit by hand.',
      ].join('\n'),
    },
    defaultContentType: 'application/protobuf',
    servers: {
      local: { host: '127.0.0.1:4222', protocol: 'nats', description: 'The single-host stack (deploy/local/stack.sh). With access control on, connect with the NATS user / password or token of deploy/README.md.' },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: { CloudEventHeaders: HEADERS, ...sortKeys(schemasFor(types, messageTypes.map((m) => `.${m}`))) },
    },
    'x-medtune-streams': streams.map((s) => ({ name: s.name, subjects: [...s.subjects], description: s.description, storage: 'file', retention: 'limits', duplicateWindow: '2m' })),
  };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** The document as YAML text (stable: sorted, no undefined). */
export function renderAsyncApi(doc: Record<string, unknown>): string {
  return `# Generated by test/contracts/generate-asyncapi.ts — do not edit; regenerate with:\n#   npx tsx test/contracts/generate-asyncapi.ts\n${stringify(JSON.parse(JSON.stringify(doc)), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
