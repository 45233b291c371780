/**
 * The deployment manifests are validated offline (deploy/validate.sh), and the validators do catch
 * what they claim to: each broken variant below must be reported.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkCompose, checkK8s, readCompose, readK8sDir, type K8sObject } from './validate-manifests';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const clone = <T>(x: T): T => structuredClone(x);

describe('deploy/validate.sh', () => {
  it('passes on the checked-in compose file and Kubernetes manifests', () => {
    const out = execFileSync(path.join(root, 'deploy/validate.sh'), { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/compose 0 problems; k8s \d+ objects, 0 problems/);
    expect(out).toMatch(/k8s_strict: \d+ objects, 0 problems/);
  }, 240_000);
});

describe('the compose check', () => {
  const compose = readCompose(path.join(root, 'deploy/compose/compose.yaml'));

  it('accepts the file, with NATS JetStream, MongoDB, the five services, the dashboard, a GPU trainer and the Ray profile', () => {
    expect(checkCompose(compose)).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual(['dashboard', 'dataset', 'evaluation', 'mongo', 'nats', 'ray-gpu', 'ray-head', 'registry', 'tracking', 'trainer', 'training']);
    expect(compose.services.nats.command).toContain('--jetstream');
  });

  it('reports an unknown key, a missing GPU reservation and a dangling depends_on', () => {
    const bad = clone(compose);
    bad.services.dataset.helthcheck = bad.services.dataset.healthcheck;
    delete bad.services.trainer.deploy;
    bad.services.training.depends_on = { queue: { condition: 'service_healthy' } };
    const problems = checkCompose(bad).join('\n');
    expect(problems).toMatch(/services\.dataset.*additional properties \(helthcheck\)/);
    expect(problems).toMatch(/trainer: needs a GPU device reservation/);
    expect(problems).toMatch(/training\.depends_on: no service queue/);
  });
});

describe('the Kubernetes check', () => {
  const objects = readK8sDir(path.join(root, 'deploy/k8s'));
  const find = (os: K8sObject[], kind: string, name: string) => os.find((o) => o.doc.kind === kind && o.doc.metadata?.name === name)!.doc;

  it('accepts the manifests: services probed on grpc.health.v1, NATS with 3 JetStream replicas, the trainer on GPU nodes', async () => {
    expect(await checkK8s(objects)).toEqual([]);
    const training = find(objects, 'Deployment', 'training').spec.template.spec.containers[0];
    expect(training.readinessProbe.grpc).toEqual({ port: 50052, service: 'medtune.training.v1.TrainingService' });
    expect(find(objects, 'StatefulSet', 'nats').spec.replicas).toBe(3);
    // Every service runs as two replicas at least (leases in NATS KV own the once-only work).
    for (const svc of ['dataset', 'training', 'tracking', 'evaluation', 'registry']) {
      const d = find(objects, 'Deployment', svc);
      expect(d.spec.replicas, svc).toBeGreaterThanOrEqual(2);
      expect(d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'MEDTUNE_INSTANCE_ID')?.valueFrom.fieldRef.fieldPath, svc).toBe('metadata.name');
    }
    expect(find(objects, 'Deployment', 'trainer').spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
  });

  it('reports a wrong type, a probe on an undeclared port, a missing Secret and a trainer without a GPU', async () => {
    const bad = clone(objects);
    const dataset = find(bad, 'Deployment', 'dataset').spec.template.spec.containers[0];
    dataset.ports[0].containerPort = 'grpc-port';
    const registry = find(bad, 'Deployment', 'registry').spec.template.spec.containers[0];
    registry.readinessProbe.grpc.port = 59999;
    registry.env.push({ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } });
    const trainer = find(bad, 'Deployment', 'trainer').spec.template.spec;
    delete trainer.containers[0].resources.limits['nvidia.com/gpu'];
    trainer.tolerations = [];
    const problems = (await checkK8s(bad)).join('\n');
    expect(problems).toMatch(/Deployment\/dataset: .*containerPort must be integer/);
    expect(problems).toMatch(/Deployment\/registry: registry.readinessProbe probes gRPC port 59999/);
    expect(problems).toMatch(/reads Secret nope, which no manifest defines/);
    expect(problems).toMatch(/trainer: needs a resources.limits\["nvidia.com\/gpu"\]/);
    expect(problems).toMatch(/trainer: needs a toleration/);
  });

  it('the strict field check (kubernetes Python client models) reports a misspelt field the OpenAPI schemas let pass', async () => {
    const bad = clone(objects);
    const c = find(bad, 'Deployment', 'tracking').spec.template.spec.containers[0];
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    const dir = mkdtempSync(path.join(tmpdir(), 'k8s-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, bad.map((o) => stringify(o.doc)).join('---\n'));
    // deploy/validate.sh (run above) installed the client into var/cache/deploy-validate.
    const py = path.join(process.env.MEDTUNE_VALIDATE_VENV ?? path.join(root, 'var/cache/deploy-validate'), 'bin/python');
    const res = spawnSync(py, [path.join(root, 'deploy/k8s_strict.py'), file], { encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/Deployment\/tracking\.spec\.template\.spec\.containers\[0\]\.readinesProbe: unknown field of V1Container/);
  }, 60_000);
});
