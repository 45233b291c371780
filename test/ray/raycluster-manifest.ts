/**
 * Offline check of deploy/k8s/ray/raycluster.yaml (KubeRay's ray.io/v1 RayCluster). kubernetes-models
 * has no KubeRay CRDs, so: the RayCluster fields medtune uses are checked against a schema of our
 * own (a subset of KubeRay's CRD: unknown fields at those levels are errors), and every pod template
 * (head and worker groups) against the Kubernetes PodTemplateSpec model, plus what the Ray executor
 * relies on (a dashboard port, GPU workers that ask for nvidia.com/gpu, an autoscaling GPU group,
 * no secret given as a literal value). deploy/validate.sh runs it.
 *   npx tsx test/ray/raycluster-manifest.ts   → exit 0 when clean, 1 with one line per problem
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parse } from 'yaml';

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const template = { type: 'object', required: ['spec'], properties: { metadata: { type: 'object' }, spec: { type: 'object' } }, additionalProperties: false } as const;

/** The RayCluster fields used here, as KubeRay v1 defines them. */
export const RAYCLUSTER_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'ray.io/v1' },
    kind: { const: 'RayCluster' },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }, namespace: { type: 'string' }, labels: stringMap, annotations: stringMap }, additionalProperties: false },
    spec: {
      type: 'object',
      required: ['headGroupSpec'],
      additionalProperties: false,
      properties: {
        rayVersion: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
        enableInTreeAutoscaling: { type: 'boolean' },
        autoscalerOptions: {
          type: 'object',
          additionalProperties: false,
          properties: { upscalingMode: { enum: ['Default', 'Aggressive', 'Conservative'] }, idleTimeoutSeconds: { type: 'integer', minimum: 0 }, resources: { type: 'object' }, env: { type: 'array' } },
        },
        headGroupSpec: {
          type: 'object',
          required: ['rayStartParams', 'template'],
          additionalProperties: false,
          properties: { serviceType: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, rayStartParams: stringMap, template },
        },
        workerGroupSpecs: {
          type: 'array',
          items: {
            type: 'object',
            required: ['groupName', 'rayStartParams', 'template', 'maxReplicas'],
            additionalProperties: false,
            properties: {
              groupName: { type: 'string', minLength: 1 },
              replicas: { type: 'integer', minimum: 0 },
              minReplicas: { type: 'integer', minimum: 0 },
              maxReplicas: { type: 'integer', minimum: 1 },
              rayStartParams: stringMap,
              template,
            },
          },
        },
      },
    },
  },
} as const;

/** Problems of one RayCluster document. */
export async function checkRayCluster(doc: Record<string, any>): Promise<string[]> {
  const problems: string[] = [];
  const validate = new Ajv({ allErrors: true, strict: false }).compile(RAYCLUSTER_SCHEMA);
  if (!validate(doc)) {
    for (const e of validate.errors ?? []) problems.push(`RayCluster${e.instancePath.replace(/\//g, '.')}: ${e.message}${'additionalProperty' in (e.params ?? {}) ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : ''}`);
    return problems;
  }
  const { PodTemplateSpec } = (await import('kubernetes-models/v1/PodTemplateSpec')) as { PodTemplateSpec: new (d: unknown) => { validate(): void } };
  const groups: [string, Record<string, any>][] = [['head', doc.spec.headGroupSpec], ...((doc.spec.workerGroupSpecs ?? []) as Record<string, any>[]).map((g): [string, Record<string, any>] => [`worker group ${g.groupName}`, g])];
  for (const [name, g] of groups) {
    try {
      new PodTemplateSpec(g.template).validate();
    } catch (err) {
      problems.push(`${name}: pod template: ${(err as Error).message}`);
    }
    for (const c of (g.template.spec.containers ?? []) as any[]) {
      for (const e of c.env ?? []) {
        if (/SECRET|PASSWORD|TOKEN|ACCESS_KEY/i.test(String(e.name)) && e.value !== undefined) problems.push(`${name}: ${c.name} env ${e.name} is a literal value; read it from a Secret`);
      }
    }
  }
  const head = doc.spec.headGroupSpec;
  const headPorts = new Set<number>(((head.template.spec.containers?.[0]?.ports ?? []) as any[]).map((p) => p.containerPort as number));
  if (!headPorts.has(8265)) problems.push('head: the dashboard port 8265 (Jobs REST API, MEDTUNE_TRAINING_RAY_ADDRESS) is not declared');
  if (head.rayStartParams['num-gpus'] !== '0') problems.push('head: must declare num-gpus "0" (jobs go to GPU workers)');
  const gpuGroups = ((doc.spec.workerGroupSpecs ?? []) as any[]).filter((g) => (g.template.spec.containers ?? []).some((c: any) => c.resources?.limits?.['nvidia.com/gpu']));
  if (gpuGroups.length === 0) problems.push('no worker group asks for nvidia.com/gpu');
  for (const g of gpuGroups) {
    if (!doc.spec.enableInTreeAutoscaling || !(g.maxReplicas > (g.minReplicas ?? 0))) problems.push(`worker group ${g.groupName}: GPU workers should autoscale (enableInTreeAutoscaling, maxReplicas > minReplicas)`);
    const gpus = g.template.spec.containers[0].resources.limits['nvidia.com/gpu'];
    if (g.rayStartParams['num-gpus'] !== String(gpus)) problems.push(`worker group ${g.groupName}: rayStartParams num-gpus ${g.rayStartParams['num-gpus']} differs from the pod's nvidia.com/gpu ${String(gpus)}`);
  }
  return problems;
}

/** The manifest's problems (reads the file). */
export async function checkRayClusterFile(file: string): Promise<string[]> {
  return checkRayCluster(parse(readFileSync(file, 'utf8')) as Record<string, any>);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/k8s/ray/raycluster.yaml');
  const problems = await checkRayClusterFile(file);
  for (const p of problems) console.error(`${path.relative(process.cwd(), file)}: ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log('raycluster: deploy/k8s/ray/raycluster.yaml is valid');
}
