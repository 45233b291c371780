import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

/** The statuses of grpc.health.v1.HealthCheckResponse.ServingStatus. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const STATUSES: readonly HealthStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/**
 * Calls grpc.health.v1.Health/Check on `address` (host:port) for `service` ('' = the whole
 * server) and returns the serving status; rejects with the gRPC error when the call fails.
 * The two messages have one field each, so they are encoded here by hand: this works against the
 * TS kit and the Python trainer alike, without depending on generated code.
 */
export function grpcHealthStatus(address: string, service = '', timeoutMs = 1_000): Promise<HealthStatus> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise<HealthStatus>((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      encodeRequest,
      decodeResponse,
      service,
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, status?: HealthStatus) => (err ? reject(err) : resolve(status ?? 'UNKNOWN')),
    );
  }).finally(() => client.close());
}

// HealthCheckRequest { string service = 1; }
function encodeRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
}

// HealthCheckResponse { ServingStatus status = 1; } (an absent field is 0 = UNKNOWN)
function decodeResponse(buf: Buffer): HealthStatus {
  let status = 0;
  let i = 0;
  while (i < buf.length) {
    const tag = buf.readUInt8(i++);
    if (tag !== 0x08) throw new Error(`unexpected field tag ${tag} in HealthCheckResponse`);
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = buf.readUInt8(i++);
      value |= (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    status = value;
  }
  return STATUSES[status] ?? 'UNKNOWN';
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
