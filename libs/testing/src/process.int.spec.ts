import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { grpcHealthStatus } from './grpc-health';
import { freePort } from './ports';
import { startProcess } from './process';

const CHILD = fileURLToPath(new URL('./fixtures/child.mjs', import.meta.url));
const HEALTH = fileURLToPath(new URL('./fixtures/health-server.mjs', import.meta.url));
const node = process.execPath;

/** Running and not a zombie (a container's PID 1 may never reap orphans). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('startProcess', () => {
  it('waits for a ready log line, captures stdout and stderr, and stops with SIGTERM', async () => {
    const proc = await startProcess({ cmd: node, args: [CHILD, 'ready'], readyWhen: { log: /"msg":"listening"/ } });
    expect(proc.logs()).toContain('warming up on stderr');
    expect(proc.logs()).toContain('"msg":"listening"');
    expect(proc.exitInfo()).toBeUndefined();
    const exit = await proc.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(proc.logs()).toContain('shutting down');
    expect(alive(proc.pid)).toBe(false);
    await expect(proc.stop()).resolves.toEqual(exit);
  });

  it('passes env on top of the inherited environment', async () => {
    const proc = await startProcess({ cmd: node, args: [CHILD, 'env'], env: { FOO: 'bar' }, readyWhen: { log: 'FOO=' } });
    try {
      expect(await proc.waitForLog(/FOO=/)).toContain('FOO=bar HOME_SET=true');
    } finally {
      await proc.stop();
    }
  });

  it('fails with the last log lines when the process exits before it is ready', async () => {
    await expect(
      startProcess({ cmd: node, args: [CHILD, 'crash'], name: 'dataset', readyWhen: { log: 'listening' } }),
    ).rejects.toThrow(/dataset exited \(code 3, signal null\) before it was ready; last lines:\nconfig: MEDTUNE_X is missing/);
  });

  it('fails when the command does not exist', async () => {
    await expect(startProcess({ cmd: '/nonexistent/medtune-service' })).rejects.toThrow(/could not start .*ENOENT/s);
  });

  it('kills a process that is not ready in time', async () => {
    const err = await startProcess({
      cmd: node,
      args: [CHILD, 'env'],
      readyWhen: { check: () => false },
      readyTimeoutMs: 300,
      stopTimeoutMs: 500,
    }).catch((e: Error) => e);
    expect(String(err)).toMatch(/was not ready within 300 ms \(waited for check\(\)\); last lines:\n.*FOO=undefined/);
    const pid = Number(/pid=(\d+)/.exec(String(err))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('SIGKILLs the process group after the grace period when SIGTERM is ignored', async () => {
    const proc = await startProcess({ cmd: node, args: [CHILD, 'stubborn'], readyWhen: { log: 'grandchild' }, stopTimeoutMs: 300 });
    const grandchild = Number(/grandchild (\d+)/.exec(proc.logs())?.[1]);
    expect(alive(grandchild)).toBe(true);
    const started = Date.now();
    const exit = await proc.stop();
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(proc.logs()).toContain('ignoring SIGTERM');
    expect(alive(proc.pid)).toBe(false);
    expect(alive(grandchild)).toBe(false);
  });

  it('waits for SERVING from a gRPC health check', async () => {
    const port = await freePort();
    const started = Date.now();
    const proc = await startProcess({ cmd: node, args: [HEALTH, String(port)], readyWhen: { grpcHealth: `127.0.0.1:${port}` } });
    try {
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(await grpcHealthStatus(`127.0.0.1:${port}`)).toBe('SERVING');
    } finally {
      await proc.stop();
    }
  });
});
