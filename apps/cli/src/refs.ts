/** Parsing of the model references users type: name@alias, name@3, name@v3, name@latest, name. */
import type { common } from '@medtune/contracts';
import { CliError, EXIT } from './exit';

const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/** Parses "name@selector" into a registry reference; a bare name means the latest READY version. */
export function parseModelRef(text: string): common.RegistryModelRef {
  const at = text.lastIndexOf('@');
  const name = at >= 0 ? text.slice(0, at) : text;
  const sel = at >= 0 ? text.slice(at + 1) : 'latest';
  if (!NAME.test(name)) {
    throw new CliError(EXIT.USAGE, `not a model reference: ${JSON.stringify(text)}`, 'write name@alias, name@<version> or name@latest (names: lowercase letters, digits, ".", "_", "-")');
  }
  if (sel === '' || sel === 'latest') return { name, selector: { $case: 'latest', latest: true } };
  const v = /^v?(\d+)$/.exec(sel);
  if (v) {
    const version = Number(v[1]);
    if (version < 1) throw new CliError(EXIT.USAGE, `version must be >= 1 in ${JSON.stringify(text)}`);
    return { name, selector: { $case: 'version', version } };
  }
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(sel)) throw new CliError(EXIT.USAGE, `not an alias: ${JSON.stringify(sel)} (lowercase letters, digits, "_", "-")`);
  return { name, selector: { $case: 'alias', alias: sel } };
}

/** "name@champion" back from a reference. */
export function formatModelRef(ref: common.RegistryModelRef): string {
  const s = ref.selector;
  return `${ref.name}@${!s || s.$case === 'latest' ? 'latest' : s.$case === 'version' ? s.version : s.alias}`;
}

/** A --model argument of `eval run`: a registry reference (has "@") or a base model (path or hub id). */
export function parseEvalModel(text: string, resolvePath: (p: string) => string): common.ModelRef {
  if (text.includes('@')) return { ref: { $case: 'registry', registry: parseModelRef(text) } };
  const local = text.startsWith('/') || text.startsWith('./') || text.startsWith('../');
  return { ref: { $case: 'baseModel', baseModel: local ? resolvePath(text) : text } };
}
