/** medtune models list | show | versions | alias set | resolve */
import { registry } from '@medtune/contracts';
import { intOpt, str, type CommandSpec } from '../args';
import type { CliContext } from '../context';
import { usage } from '../exit';
import { renderTable } from '../format/table';
import { artifactKindName, modelsTable, modelVersionDetails, modelVersionsTable } from '../format/views';
import { formatTime } from '../format/units';
import { formatModelRef, parseModelRef } from '../refs';

/** The registry commands. */
export const modelCommands: CommandSpec<CliContext>[] = [
  {
    path: ['models', 'list'],
    summary: 'list registered models with their aliases',
    options: { prefix: { type: 'string', value: 'TEXT', description: 'only names starting with this' } },
    async run(ctx, p) {
      const res = await ctx.clients.registry.unary('listRegisteredModels', registry.ListRegisteredModelsRequest.fromPartial({ namePrefix: str(p, 'prefix') ?? '', pageSize: 500 }));
      ctx.out.result(registry.ListRegisteredModelsResponse.toJSON(res), () => modelsTable(res.models));
    },
  },
  {
    path: ['models', 'show'],
    summary: 'a model (its versions and alias history), or one version with lineage and artifacts: name, name@3, name@champion',
    args: ['<model>'],
    async run(ctx, p) {
      const text = p.positionals[0]!;
      if (text.includes('@')) {
        const { version } = await ctx.clients.registry.unary('resolveModel', { ref: parseModelRef(text) }).catch(async (err: unknown) => {
          // A version that is not READY does not resolve; show it anyway when asked by number.
          const ref = parseModelRef(text);
          if (ref.selector?.$case !== 'version') throw err;
          return ctx.clients.registry.unary('getModelVersion', { name: ref.name, version: ref.selector.version });
        });
        ctx.out.result(registry.ModelVersion.toJSON(version!), () => modelVersionDetails(version!));
        return;
      }
      const [{ model }, versions, history] = await Promise.all([
        ctx.clients.registry.unary('getRegisteredModel', { name: text }),
        ctx.clients.registry.unary('listModelVersions', registry.ListModelVersionsRequest.fromPartial({ name: text, pageSize: 50 })),
        ctx.clients.registry.unary('listAliasHistory', { name: text, alias: '', pageSize: 10, pageToken: '' }),
      ]);
      const m = model!;
      ctx.out.result({ model: registry.RegisteredModel.toJSON(m), versions: versions.versions.map((v) => registry.ModelVersion.toJSON(v)), aliasHistory: history.changes.map((c) => registry.AliasChange.toJSON(c)) }, () =>
        [
          `${m.name}${m.description ? ` — ${m.description}` : ''}`,
          `aliases: ${Object.entries(m.aliases).map(([a, v]) => `${a} → v${v}`).join(', ') || 'none'}`,
          m.promotionPolicy ? `promotion: ${m.promotionPolicy.disabled ? 'off' : `${m.promotionPolicy.alias} by ${m.promotionPolicy.metric} on ${m.promotionPolicy.evalSet}`}` : '',
          '',
          modelVersionsTable(versions.versions),
          '',
          renderTable(history.changes, [
            { header: 'ALIAS', value: (c) => c.alias },
            { header: 'FROM', value: (c) => (c.fromVersion ? `v${c.fromVersion}` : '–') },
            { header: 'TO', value: (c) => (c.toVersion ? `v${c.toVersion}` : 'deleted') },
            { header: 'BY', value: (c) => c.actor },
            { header: 'AT', value: (c) => formatTime(c.time) },
            { header: 'REASON', value: (c) => c.reason, max: 60 },
          ], '(no alias changes)'),
        ].join('\n'),
      );
    },
  },
  {
    path: ['models', 'alias', 'set'],
    summary: 'point an alias at a READY version (with --expect: only if it still points at that version)',
    args: ['<model>', '<alias>', '<version>'],
    options: {
      expect: { type: 'string', value: 'V', description: 'move only if the alias points at version V now (0 = only if unset)' },
      reason: { type: 'string', value: 'TEXT', description: 'recorded in the alias history' },
    },
    async run(ctx, p) {
      const [name, alias, v] = p.positionals as [string, string, string];
      const version = Number(v.replace(/^v/, ''));
      if (!Number.isInteger(version) || version < 1) throw usage(`models alias set: <version> must be an integer >= 1, got ${JSON.stringify(v)}`);
      const res = await ctx.clients.registry.unary('setAlias', registry.SetAliasRequest.fromPartial({ name, alias, version, expectedVersion: intOpt(p, 'expect', { min: 0 }), reason: str(p, 'reason') ?? '', actor: `cli:${ctx.io.env.USER ?? 'user'}` }));
      const c = res.change!;
      ctx.out.result(registry.SetAliasResponse.toJSON(res), () => (c.fromVersion === c.toVersion ? `${name}@${alias} already at v${c.toVersion}` : `${name}@${alias}: ${c.fromVersion ? `v${c.fromVersion}` : 'unset'} → v${c.toVersion}`));
    },
  },
  {
    path: ['models', 'resolve'],
    summary: 'resolve name@alias / name@version / name@latest to its artifact URIs (for deployments)',
    args: ['<model>'],
    options: { kind: { type: 'string', value: 'KIND', description: 'print only this artifact\'s URI: adapter, merged_16bit or gguf' } },
    details: 'Prints "<kind>\\t<uri>\\t<sha256>" per artifact; with --kind only the URI, for scripts:\n  MODEL_DIR=$(medtune models resolve demo-medical@champion --kind merged_16bit)',
    async run(ctx, p) {
      const ref = parseModelRef(p.positionals[0]!);
      const { version } = await ctx.clients.registry.unary('resolveModel', { ref });
      const v = version!;
      const kind = str(p, 'kind');
      const arts = kind ? v.artifacts.filter((a) => artifactKindName(a.kind) === kind) : v.artifacts;
      if (kind && arts.length === 0) throw usage(`${formatModelRef(ref)} (v${v.version}) has no ${kind} artifact; it has: ${v.artifacts.map((a) => artifactKindName(a.kind)).join(', ')}`, 'pick one of those with --kind');
      ctx.out.result(
        { name: v.name, version: v.version, ref: formatModelRef(ref), artifacts: arts.map((a) => ({ kind: artifactKindName(a.kind), uri: a.uri, sha256: a.sha256, sizeBytes: a.sizeBytes })) },
        () => (kind ? arts.map((a) => a.uri).join('\n') : arts.map((a) => `${artifactKindName(a.kind)}\t${a.uri}\t${a.sha256}`).join('\n')),
      );
    },
  },
];
