// vitest globalSetup (root vitest.config.ts → test.globalSetup): makes sure NATS (JetStream) and
// the MongoDB-protocol server are up for the run and hands their URLs to the specs, through
// provide/inject (see context.ts) and NATS_URL / MONGODB_URI for the processes specs start.
//
// - Runs that select only *.unit.spec.ts files start nothing (unit specs need no servers).
// - When NATS_URL / MONGODB_URI are set, tools/infra/infra.sh uses those servers and starts nothing.
// - Otherwise infra.sh starts what is not running, under a lease held by this vitest process;
//   at the end the lease is released, and servers stop only if this kind of lease started them
//   and no other test run still holds one. Servers started by hand (`infra.sh up`) stay up.
//
// This file is the test run's composition root, so it (and no lib) reads process.env.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const INFRA = fileURLToPath(new URL('../../../tools/infra/infra.sh', import.meta.url));

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await runNeedsServers(project))) return undefined;

  // infra.sh must always see the caller's environment: the NATS_URL / MONGODB_URI set below
  // would otherwise make the release at the end treat our own servers as external.
  const callerEnv = { ...process.env };
  const lease = String(process.pid);
  await infra(['up', '--lease', lease], callerEnv);
  const urls = parseEnv(await infra(['env'], callerEnv));
  project.provide('medtuneNatsUrl', urls.NATS_URL);
  project.provide('medtuneMongoUri', urls.MONGODB_URI);
  // Inherited by the test workers and by the services specs start with startProcess().
  process.env.NATS_URL = urls.NATS_URL;
  process.env.MONGODB_URI = urls.MONGODB_URI;

  return async () => {
    await infra(['release', lease], callerEnv);
  };
}

/** True unless every selected spec is a unit spec (watch mode may select others later: true). */
async function runNeedsServers(project: TestProject): Promise<boolean> {
  const vitest = project.vitest;
  if (vitest.config.watch) return true;
  try {
    // The CLI's file filters; vitest keeps them on this (internal) field.
    const filters = (vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
    const specs = await vitest.globTestSpecifications(filters);
    return specs.some((spec) => !spec.moduleId.endsWith('.unit.spec.ts'));
  } catch {
    return true;
  }
}

/** Runs infra.sh; its messages (what it installs, starts, stops) go to our stderr as they come. */
function infra(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(INFRA, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`tools/infra/infra.sh ${args.join(' ')} failed (exit ${code}); see its messages above`)),
    );
  });
}

function parseEnv(text: string): { NATS_URL: string; MONGODB_URI: string } {
  const value = (name: string): string => {
    const match = new RegExp(`^export ${name}=(.*)$`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`tools/infra/infra.sh env printed no ${name}:\n${text}`);
    return match[1];
  };
  return { NATS_URL: value('NATS_URL'), MONGODB_URI: value('MONGODB_URI') };
}
