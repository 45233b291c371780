/** Runs hf_reference.py with the project's Python (see findPython) and reads what it wrote. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot } from './texts';

const run = promisify(execFile);

/** $MEDTUNE_PYTHON, else the project's venv; throws (does not skip) when it is missing. */
export function findPython(): string {
  const python = process.env['MEDTUNE_PYTHON'] ?? path.join(repoRoot, 'python-services/.venv/bin/python');
  if (!existsSync(python))
    throw new Error(
      `The HuggingFace reference needs Python with tokenizers + transformers, not found at ${python}. ` +
        'Create python-services/.venv (see python-services/) or set MEDTUNE_PYTHON to such an interpreter.',
    );
  return python;
}

export interface HfReference {
  versions: Record<string, string>;
  ids: number[][];
  ids_tokenizer_json: number[][];
  decoded: string[];
  /** Directory holding the tokenizer.json that transformers saved. */
  savedDir: string;
}

export async function hfReference(bpeDir: string, texts: string[]): Promise<HfReference> {
  const python = findPython();
  const dir = await mkdtemp(path.join(tmpdir(), 'medtune-tok-test-'));
  const input = path.join(dir, 'texts.json');
  const output = path.join(dir, 'expected.json');
  const savedDir = path.join(dir, 'saved');
  await writeFile(input, JSON.stringify({ texts }));
  const script = fileURLToPath(new URL('./hf_reference.py', import.meta.url));
  try {
    await run(python, [script, '--bpe', bpeDir, '--texts', input, '--out', output, '--save', savedDir], { maxBuffer: 64 << 20, timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`hf_reference.py failed: ${e.stderr?.slice(-2000) ?? e.message}`);
  }
  return { ...(JSON.parse(await readFile(output, 'utf8')) as Omit<HfReference, 'savedDir'>), savedDir };
}

/** Python's JSON of the unicode_classes.py table, to compare with the generated TS one. */
export async function hfUnicodeClasses(): Promise<{ tokenizers: string; L: number[][]; N: number[][]; S: number[][] }> {
  const script = fileURLToPath(new URL('./unicode_classes.py', import.meta.url));
  const { stdout } = await run(findPython(), [script, '--json'], { maxBuffer: 64 << 20, timeout: 300_000 });
  return JSON.parse(stdout) as { tokenizers: string; L: number[][]; N: number[][]; S: number[][] };
}
