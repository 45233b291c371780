/** Writes apps/cli/PIPELINE.md from the schema: `npx tsx apps/cli/scripts/pipeline-doc.ts`. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderPipelineDoc } from '../src/pipeline/doc';

const out = fileURLToPath(new URL('../PIPELINE.md', import.meta.url));
writeFileSync(out, renderPipelineDoc());
console.log(`wrote ${out}`);
