/**
 * Which artifact an evaluation runs (resolveModel): the adapter on its base by default, else the
 * merged 16-bit model; an explicit artifact_kind picks ADAPTER / MERGED_16BIT / GGUF and only that
 * one; a kind the version does not have, or one that cannot run, is refused naming the field.
 */
import { common, registry } from '@medtune/contracts';
import { FailedPreconditionError, InvalidArgumentError } from '@medtune/kit';
import { describe, expect, it } from 'vitest';
import type { RegistryPort } from './ports';
import { resolveModel } from './resolve';

const K = common.ArtifactKind;
const art = (kind: common.ArtifactKind, uri: string): common.Artifact => common.Artifact.fromPartial({ kind, uri, sha256: 'ab'.repeat(32), sizeBytes: 1 });
const ADAPTER = art(K.ARTIFACT_KIND_ADAPTER, 'file:///a/adapter');
const MERGED = art(K.ARTIFACT_KIND_MERGED_16BIT, 'file:///a/merged');
const GGUF = art(K.ARTIFACT_KIND_GGUF, 'file:///a/model.gguf');

/** A registry that knows one version, with the given artifacts. */
function registryWith(artifacts: common.Artifact[], baseModel = '/models/base'): RegistryPort & { asked: common.RegistryModelRef[] } {
  const asked: common.RegistryModelRef[] = [];
  const version = registry.ModelVersion.fromPartial({ name: 'demo', version: 3, artifacts, lineage: { baseModel } });
  const no = () => Promise.reject(new Error('not used'));
  return {
    asked,
    resolve: (ref) => (asked.push(ref), Promise.resolve(version)),
    getModel: no,
    getVersion: no,
    setAlias: no,
    attachEvaluation: no,
  };
}
const ref = (alias = 'champion'): common.ModelRef => ({ ref: { $case: 'registry', registry: { name: 'demo', selector: { $case: 'alias', alias } } } });
const base: common.ModelRef = { ref: { $case: 'baseModel', baseModel: '/models/base' } };

async function refusal(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (!err) throw new Error('expected a refusal');
  return err;
}

describe('resolveModel: the artifact kind an evaluation runs', () => {
  it('by default runs the adapter on its base when the version has one (even with merged and GGUF registered)', async () => {
    const reg = registryWith([MERGED, GGUF, ADAPTER]);
    const m = await resolveModel(ref(), reg);
    expect(m).toMatchObject({ artifactKind: K.ARTIFACT_KIND_ADAPTER, adapterUri: ADAPTER.uri, mergedUri: '', ggufUri: '', baseModel: '/models/base', registryName: 'demo', registryVersion: 3 });
    expect(reg.asked).toEqual([{ name: 'demo', selector: { $case: 'alias', alias: 'champion' } }]);
  });

  it('by default falls back to the merged 16-bit model when there is no adapter (never to the GGUF)', async () => {
    const m = await resolveModel(ref(), registryWith([GGUF, MERGED]));
    expect(m).toMatchObject({ artifactKind: K.ARTIFACT_KIND_MERGED_16BIT, adapterUri: '', mergedUri: MERGED.uri, ggufUri: '' });
  });

  it('refuses by default a version with only a GGUF, naming model.registry', async () => {
    const err = await refusal(resolveModel(ref(), registryWith([GGUF])));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('model.registry');
    expect(err.message).toMatch(/neither an adapter nor a merged model/);
  });

  it.each([
    ['ADAPTER', K.ARTIFACT_KIND_ADAPTER, { adapterUri: ADAPTER.uri, mergedUri: '', ggufUri: '' }],
    ['MERGED_16BIT', K.ARTIFACT_KIND_MERGED_16BIT, { adapterUri: '', mergedUri: MERGED.uri, ggufUri: '' }],
    ['GGUF', K.ARTIFACT_KIND_GGUF, { adapterUri: '', mergedUri: '', ggufUri: GGUF.uri }],
  ])('an explicit %s runs that artifact and only that one', async (_name, kind, uris) => {
    const m = await resolveModel(ref(), registryWith([ADAPTER, MERGED, GGUF]), kind);
    expect(m).toMatchObject({ artifactKind: kind, baseModel: '/models/base', ...uris });
  });

  it('refuses a requested kind the version does not have: FAILED_PRECONDITION naming artifact_kind and listing what it has', async () => {
    const err = await refusal(resolveModel(ref(), registryWith([ADAPTER, MERGED]), K.ARTIFACT_KIND_GGUF));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.message).toBe('artifact_kind: demo version 3 has no ARTIFACT_KIND_GGUF artifact (it has: ARTIFACT_KIND_ADAPTER, ARTIFACT_KIND_MERGED_16BIT)');
    const none = await refusal(resolveModel(ref(), registryWith([]), K.ARTIFACT_KIND_MERGED_16BIT));
    expect(none.message).toMatch(/^artifact_kind: .*has no ARTIFACT_KIND_MERGED_16BIT artifact \(it has: none\)$/);
  });

  it('refuses a kind that cannot run (an eval-only or dataset kind) before asking the registry', async () => {
    const reg = registryWith([ADAPTER]);
    const runnable = new Set([K.ARTIFACT_KIND_UNSPECIFIED, K.ARTIFACT_KIND_ADAPTER, K.ARTIFACT_KIND_MERGED_16BIT, K.ARTIFACT_KIND_GGUF]);
    const others = Object.values(K).filter((v): v is common.ArtifactKind => typeof v === 'number' && v >= 0 && !runnable.has(v));
    expect(others.length).toBeGreaterThan(0);
    for (const kind of others) {
      const err = await refusal(resolveModel(ref(), reg, kind));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe('artifact_kind');
      expect(err.message).toMatch(/must be ARTIFACT_KIND_ADAPTER, ARTIFACT_KIND_MERGED_16BIT or ARTIFACT_KIND_GGUF/);
    }
    expect(reg.asked).toEqual([]);
  });

  it('an explicit ADAPTER needs the base model in the lineage', async () => {
    const err = await refusal(resolveModel(ref(), registryWith([ADAPTER], ''), K.ARTIFACT_KIND_ADAPTER));
    expect((err as InvalidArgumentError).field).toBe('model.registry');
    expect(err.message).toMatch(/has an adapter but no base model in its lineage/);
    // The merged model carries its own weights: no base needed.
    await expect(resolveModel(ref(), registryWith([ADAPTER, MERGED], ''), K.ARTIFACT_KIND_MERGED_16BIT)).resolves.toMatchObject({ mergedUri: MERGED.uri });
  });

  it('a base model runs as given and refuses any artifact kind, naming artifact_kind', async () => {
    await expect(resolveModel(base, undefined)).resolves.toMatchObject({ artifactKind: K.ARTIFACT_KIND_UNSPECIFIED, baseModel: '/models/base', adapterUri: '', mergedUri: '', ggufUri: '' });
    const err = await refusal(resolveModel(base, undefined, K.ARTIFACT_KIND_GGUF));
    expect((err as InvalidArgumentError).field).toBe('artifact_kind');
  });
});
