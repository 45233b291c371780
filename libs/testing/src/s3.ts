import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomId } from './ids';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../tools/infra/s3-server.sh', import.meta.url));

/** A real S3-compatible server (SeaweedFS, tools/infra/s3-server.sh) on loopback, for one spec. */
export interface TestS3 {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** The server's random admin identity (never logged by the services: they take it as secret config). */
  readonly accessKey: string;
  readonly secretKey: string;
  /** MEDTUNE_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY for a service under test (add MEDTUNE_S3_ROOTS). */
  readonly env: Readonly<Record<string, string>>;
  /** The settings of a client with the admin identity (for `new ObjectStore(s3.storeConfig)` from @medtune/kit/storage;
   *  this lib does not import the kit, whose own specs import it). */
  readonly storeConfig: { readonly s3Endpoint: string; readonly s3Region: string; readonly s3AccessKey: string; readonly s3SecretKey: string };
  /** Creates a bucket with a fresh random name and returns its name. */
  bucket(prefix?: string): Promise<string>;
  /** Stops the server and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a SeaweedFS server (`weed server -s3`, data in a temp dir, every port free) with random
 * credentials. The binary is built once by tools/dev/bootstrap.sh (s3-server.sh install); a spec
 * that calls this in beforeAll should allow for its start-up (a few seconds, up to 120 s loaded).
 */
export async function testS3(): Promise<TestS3> {
  const dir = mkdtempSync(join(process.env['MEDTUNE_VAR_DIR'] ?? tmpdir(), 'test-s3-'));
  const accessKey = `k${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(16).toString('hex');
  const { stdout } = await run(SCRIPT, ['up', dir], { env: { ...process.env, AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey }, timeout: 600_000 });
  const endpoint = /S3_ENDPOINT=(\S+)/.exec(stdout)?.[1];
  if (!endpoint) throw new Error(`s3-server.sh up printed no endpoint: ${stdout}`);
  // Loaded here, not at import: every spec imports @medtune/testing, few need the AWS SDK.
  const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const storeConfig = { s3Endpoint: endpoint, s3Region: 'us-east-1', s3AccessKey: accessKey, s3SecretKey: secretKey };
  const client = new S3Client({ endpoint, region: storeConfig.s3Region, forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } });
  let stopped = false;
  return {
    endpoint,
    accessKey,
    secretKey,
    env: { MEDTUNE_S3_ENDPOINT: endpoint, MEDTUNE_S3_ACCESS_KEY: accessKey, MEDTUNE_S3_SECRET_KEY: secretKey },
    storeConfig,
    async bucket(prefix = 'medtune') {
      const name = `${prefix}-${randomId('b')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      await run(SCRIPT, ['down', dir], { timeout: 60_000 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
