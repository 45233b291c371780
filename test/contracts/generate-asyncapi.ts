/** Writes docs/asyncapi/asyncapi.yaml: `npx tsx test/contracts/generate-asyncapi.ts`. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAsyncApi, buildDescriptorImage, renderAsyncApi } from './asyncapi';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const out = path.join(root, 'docs/asyncapi/asyncapi.yaml');
writeFileSync(out, renderAsyncApi(buildAsyncApi(buildDescriptorImage(root), { version })));
console.log(`wrote ${path.relative(root, out)}`);
