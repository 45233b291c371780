/** grpc.health.v1 Check through the generated client (health stays open when auth is on). */
import { health } from '@medtune/contracts';
import { createClient, type TlsFiles } from '@medtune/kit';

/** The serving status of `service` at `address` ("SERVING", "NOT_SERVING", ...); rejects when unreachable. */
export async function healthCheck(address: string, service: string, timeoutMs: number, tls?: TlsFiles): Promise<string> {
  const c = createClient(health.HealthClient, address, { defaultDeadlineMs: timeoutMs, retry: false, tls });
  try {
    const res = await c.unary('check', { service });
    return (health.HealthCheckResponse_ServingStatus[res.status] ?? 'UNKNOWN').toString();
  } finally {
    c.close();
  }
}
