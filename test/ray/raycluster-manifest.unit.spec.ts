// The KubeRay manifest is valid, and the checker that says so catches the mistakes it is for.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkRayCluster } from './raycluster-manifest';

const file = resolve(import.meta.dirname, '../../deploy/k8s/ray/raycluster.yaml');
const load = (): Record<string, any> => parse(readFileSync(file, 'utf8')) as Record<string, any>;

describe('deploy/k8s/ray/raycluster.yaml', () => {
  it('is a valid RayCluster with an autoscaling GPU worker group', async () => {
    expect(await checkRayCluster(load())).toEqual([]);
  });

  it('catches an unknown field, a bad pod template, a literal secret, and a GPU group that cannot scale', async () => {
    const doc = load();
    doc.spec.headGroupSpec.rayStartParam = {};
    expect((await checkRayCluster(doc)).join('\n')).toMatch(/additional properties \(rayStartParam\)/);

    const bad = load();
    bad.spec.workerGroupSpecs[0].template.spec.containers[0].ports = [{ containerPort: 'x' }];
    bad.spec.workerGroupSpecs[0].template.spec.containers[0].env.push({ name: 'AWS_SECRET_ACCESS_KEY', value: 'plain' });
    bad.spec.workerGroupSpecs[0].maxReplicas = 0;
    const problems = (await checkRayCluster(bad)).join('\n');
    expect(problems).toMatch(/maxReplicas: must be >= 1/);

    const bad2 = load();
    bad2.spec.workerGroupSpecs[0].template.spec.containers[0].ports = [{ containerPort: 'x' }];
    bad2.spec.workerGroupSpecs[0].template.spec.containers[0].env.push({ name: 'AWS_SECRET_ACCESS_KEY', value: 'plain' });
    bad2.spec.workerGroupSpecs[0].rayStartParams['num-gpus'] = '2';
    const p2 = (await checkRayCluster(bad2)).join('\n');
    expect(p2).toMatch(/worker group gpu: pod template: .*containerPort/);
    expect(p2).toMatch(/AWS_SECRET_ACCESS_KEY is a literal value/);
    expect(p2).toMatch(/num-gpus 2 differs from the pod's nvidia.com\/gpu 1/);

    const noDash = load();
    noDash.spec.headGroupSpec.template.spec.containers[0].ports = [{ name: 'gcs', containerPort: 6379 }];
    expect((await checkRayCluster(noDash)).join('\n')).toMatch(/dashboard port 8265/);
  });
});
