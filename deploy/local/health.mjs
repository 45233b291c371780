#!/usr/bin/env node
// grpc.health.v1 Check: `node deploy/local/health.mjs HOST:PORT [SERVICE] [--wait SECONDS]`.
// Exit 0 when SERVING; 1 otherwise (prints the status or the error). With --wait it retries
// every 250 ms until SERVING or the time is up. The two messages have one field each, so they are
// encoded by hand: no generated code, works against the TS services and the Python worker alike.
// TLS when MEDTUNE_TLS_CA is set (the stack's CA), with MEDTUNE_TLS_CLIENT_CERT / _KEY for mTLS.
import { readFileSync } from 'node:fs';
import { Client, credentials, Metadata } from '@grpc/grpc-js';

const args = process.argv.slice(2);
const waitIdx = args.indexOf('--wait');
const waitS = waitIdx >= 0 ? Number(args.splice(waitIdx, 2)[1]) : 0;
const [address, service = ''] = args;
if (!address) {
  console.error('usage: health.mjs HOST:PORT [SERVICE] [--wait SECONDS]');
  process.exit(2);
}
const STATUSES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function channelCredentials() {
  const { MEDTUNE_TLS_CA: ca, MEDTUNE_TLS_CLIENT_CERT: cert, MEDTUNE_TLS_CLIENT_KEY: key } = process.env;
  if (!ca) return credentials.createInsecure();
  return credentials.createSsl(readFileSync(ca), key ? readFileSync(key) : null, cert ? readFileSync(cert) : null);
}

function check() {
  const client = new Client(address, channelCredentials());
  const req = service ? Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(service)]), Buffer.from(service)]) : Buffer.alloc(0);
  return new Promise((resolve) => {
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b) => b, (b) => b, req, new Metadata(), { deadline: Date.now() + 1_000 }, (err, res) => {
      client.close();
      if (err) resolve(`unreachable (${err.details || err.message})`);
      else resolve(STATUSES[res.length >= 2 && res[0] === 0x08 ? res[1] : 0] ?? 'UNKNOWN');
    });
  });
}

const until = Date.now() + waitS * 1_000;
for (;;) {
  const status = await check();
  if (status === 'SERVING') process.exit(0);
  if (Date.now() >= until) {
    console.log(status);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 250));
}
