/**
 * Prints a signed caller token (JWT, ES256) for the medtune command, a worker, or a test:
 *
 *   tools/dev/certs/token.sh --role user|operator|worker|service --sub NAME [--ttl 8h] [--key FILE]
 *
 * The key defaults to $MEDTUNE_VAR_DIR/secrets/pki/jwt.key (tools/dev/certs/make.sh). Use it as
 * `MEDTUNE_AUTH_TOKEN=$(tools/dev/certs/token.sh --role user --sub alice) medtune jobs list`;
 * the token goes to stdout only.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readKey, ROLES, signToken, type Role } from '@medtune/kit';

const { values } = parseArgs({
  options: { role: { type: 'string' }, sub: { type: 'string' }, ttl: { type: 'string', default: '8h' }, key: { type: 'string' } },
});
const role = values.role as Role | undefined;
if (!role || !(ROLES as readonly string[]).includes(role) || !values.sub) {
  process.stderr.write(`usage: token.sh --role ${ROLES.join('|')} --sub NAME [--ttl 8h] [--key FILE]\n`);
  process.exit(2);
}
const m = /^(\d+)([smhd]?)$/.exec(values.ttl ?? '');
if (!m) {
  process.stderr.write(`--ttl: expected a number of seconds or 30m / 8h / 7d, got ${JSON.stringify(values.ttl)}\n`);
  process.exit(2);
}
const ttlSeconds = Number(m[1]) * (({ s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2] ?? ''] ?? 1);
const keyFile = values.key ?? path.join(process.env['MEDTUNE_VAR_DIR'] ?? path.resolve(__dirname, '../../../var'), 'secrets/pki/jwt.key');
process.stdout.write(`${await signToken(readKey(keyFile, 'private'), { subject: values.sub, role, ttlSeconds })}\n`);
