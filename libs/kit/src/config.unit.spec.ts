import { describe, expect, it } from 'vitest';
import { ConfigError, bool, configVariables, duration, enumOf, int, loadConfig, port, redactConfig, secret, str, url } from './config';
import { serviceConfigSpec } from './service-config';

const spec = {
  grpcAddr: str({ env: 'GRPC_ADDR', default: '127.0.0.1:50051' }),
  natsUrl: url({ env: 'NATS_URL', shared: true, default: 'nats://127.0.0.1:4222', protocols: ['nats:'] }),
  db: str({ env: 'DB' }),
  maxDeliver: int({ env: 'MAX_DELIVER', default: 5, min: 1 }),
  authToken: secret({ env: 'AUTH_TOKEN', shared: true, optional: true }),
};
const source = { prefix: 'MEDTUNE_DATASET_' };

describe('loadConfig', () => {
  it('a missing required variable gives a message naming it', () => {
    expect(() => loadConfig(spec, source, {})).toThrow(/MEDTUNE_DATASET_DB: required but not set/);
  });

  it('reports every bad variable at once, by full name, with what was expected', () => {
    let error: unknown;
    try {
      loadConfig(spec, source, { MEDTUNE_DATASET_MAX_DELIVER: 'x', MEDTUNE_NATS_URL: 'http://h:1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.variable).sort()).toEqual(['MEDTUNE_DATASET_DB', 'MEDTUNE_DATASET_MAX_DELIVER', 'MEDTUNE_NATS_URL']);
    expect((error as Error).message).toContain("MEDTUNE_DATASET_MAX_DELIVER: expected an integer >= 1, got 'x'");
    expect((error as Error).message).toContain("MEDTUNE_NATS_URL: expected a URL with protocol nats:, got 'http:'");
  });

  it('names both variables of a missing shared field', () => {
    const s = { natsUrl: str({ env: 'NATS_URL', shared: true }) };
    expect(() => loadConfig(s, source, {})).toThrow('MEDTUNE_DATASET_NATS_URL (or MEDTUNE_NATS_URL): required but not set');
  });

  it('types and defaults values; the service variable wins over the shared one; empty counts as unset', () => {
    const cfg = loadConfig(spec, source, {
      MEDTUNE_DATASET_DB: 'd1',
      MEDTUNE_NATS_URL: 'nats://shared:4222',
      MEDTUNE_DATASET_NATS_URL: 'nats://own:4222',
      MEDTUNE_DATASET_MAX_DELIVER: '7',
      MEDTUNE_AUTH_TOKEN: '',
    });
    expect(cfg).toEqual({ grpcAddr: '127.0.0.1:50051', natsUrl: 'nats://own:4222', db: 'd1', maxDeliver: 7, authToken: undefined });
    const maxDeliver: number = cfg.maxDeliver;
    const token: string | undefined = cfg.authToken;
    expect([maxDeliver, token]).toEqual([7, undefined]);
  });

  it('never shows a secret value in an error', () => {
    const s = { mongoUri: url({ env: 'MONGODB_URI', secret: true, protocols: ['mongodb:'] }) };
    const run = () => loadConfig(s, source, { MEDTUNE_DATASET_MONGODB_URI: 'not a url with p4ssw0rd' });
    expect(run).toThrow(/MEDTUNE_DATASET_MONGODB_URI: expected a URL, got an invalid value \(hidden\)/);
    expect(run).not.toThrow(/p4ssw0rd/);
  });

  it('parses durations, booleans, ports and enums', () => {
    const s = {
      grace: duration({ env: 'GRACE' }),
      plain: duration({ env: 'PLAIN' }),
      on: bool({ env: 'ON' }),
      p: port({ env: 'P' }),
      level: enumOf(['info', 'debug'] as const, { env: 'LEVEL' }),
    };
    const cfg = loadConfig(s, source, {
      MEDTUNE_DATASET_GRACE: '1.5s',
      MEDTUNE_DATASET_PLAIN: '250',
      MEDTUNE_DATASET_ON: 'Yes',
      MEDTUNE_DATASET_P: '0',
      MEDTUNE_DATASET_LEVEL: 'debug',
    });
    expect(cfg).toEqual({ grace: 1500, plain: 250, on: true, p: 0, level: 'debug' });
    expect(() => loadConfig(s, source, { ...bad(), MEDTUNE_DATASET_P: '70000' })).toThrow("MEDTUNE_DATASET_P: expected an integer in 0..65535, got '70000'");
    expect(() => loadConfig(s, source, { ...bad(), MEDTUNE_DATASET_GRACE: '5 sec' })).toThrow(/MEDTUNE_DATASET_GRACE: expected a duration/);
    expect(() => loadConfig(s, source, { ...bad(), MEDTUNE_DATASET_LEVEL: 'loud' })).toThrow("MEDTUNE_DATASET_LEVEL: expected one of info, debug, got 'loud'");
  });

  it('redacts secrets for logging, keeping the shape of URLs', () => {
    const s = {
      mongoUri: url({ env: 'MONGODB_URI', secret: true }),
      token: secret({ env: 'TOKEN' }),
      db: str({ env: 'DB' }),
    };
    const cfg = loadConfig(s, source, { MEDTUNE_DATASET_MONGODB_URI: 'mongodb://u:pw@h:27017/x', MEDTUNE_DATASET_TOKEN: 't0k', MEDTUNE_DATASET_DB: 'x' });
    expect(redactConfig(cfg)).toEqual({ mongoUri: 'mongodb://u:[redacted]@h:27017/x', token: '[redacted]', db: 'x' });
    expect(redactConfig({ ...cfg }, s)).toEqual(redactConfig(cfg));
  });

  it('the standard service spec reads the conventions’ variables', () => {
    const s = serviceConfigSpec({ grpcAddr: '127.0.0.1:50051', db: 'medtune_dataset' });
    const cfg = loadConfig(s, source, { MEDTUNE_MONGODB_URI: 'mongodb://m:27017', MEDTUNE_DATASET_GRPC_ADDR: '127.0.0.1:0', MEDTUNE_SHUTDOWN_GRACE: '3s' });
    expect(cfg).toMatchObject({ grpcAddr: '127.0.0.1:0', mongoUri: 'mongodb://m:27017', db: 'medtune_dataset', logLevel: 'info', shutdownGraceMs: 3000, natsNamespace: undefined });
    expect(() => loadConfig(s, source, { MEDTUNE_DATASET_GRPC_ADDR: 'nowhere' })).toThrow("MEDTUNE_DATASET_GRPC_ADDR: expected host:port (e.g. 127.0.0.1:50051), got 'nowhere'");
    expect(configVariables(s, source).map((v) => v.variable)).toContain('MEDTUNE_DATASET_AUTH_TOKEN (or MEDTUNE_AUTH_TOKEN)');
  });
});

function bad(): Record<string, string> {
  return { MEDTUNE_DATASET_GRACE: '1s', MEDTUNE_DATASET_PLAIN: '1', MEDTUNE_DATASET_ON: '1', MEDTUNE_DATASET_P: '1', MEDTUNE_DATASET_LEVEL: 'info' };
}
