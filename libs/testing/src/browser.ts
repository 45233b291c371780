/**
 * A real headless browser for tests and benchmarks: Debian's chromium (tools/dev/bootstrap.sh
 * installs it; no browser download works here) driven by playwright-core, with a fresh profile
 * directory that is removed on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Where Debian puts chromium; MEDTUNE_CHROMIUM is not read here (libs never read process.env): pass `executablePath`. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The flags that make chromium quiet, offline and root-safe in a container. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** A launched browser context; `close()` also deletes its profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Launches chromium with a fresh --user-data-dir. */
export async function launchChromium(options: { executablePath?: string; viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(tmpdir(), 'medtune-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: options.viewport ?? { width: 1400, height: 1000 },
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
