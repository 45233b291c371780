// The shared helper lives in @medtune/testing (libs/testing/src/services.ts); this name stays for its importers.
export { repoRoot, startService, type StartedService } from '@medtune/testing';
