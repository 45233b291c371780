/** The training service's GetJob as the registry's TrainingJobs port (confirming job events). */
import { training } from '@medtune/contracts';
import { createClient, NotFoundError, type Logger, type TlsFiles } from '@medtune/kit';
import type { TrainingJobs } from '../core/ports';

/** A client of the training service at `address`; close() when the service stops. */
export function trainingJobsClient(address: string, o: { authToken?: () => string | undefined; tls?: TlsFiles | undefined; log: Logger }): TrainingJobs & { close(): void } {
  const c = createClient(training.TrainingServiceClient, address, {
    defaultDeadlineMs: 10_000,
    log: o.log,
    ...(o.authToken ? { authToken: o.authToken } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
  });
  return {
    async getJob(jobId: string): Promise<training.Job | undefined> {
      try {
        return (await c.unary('getJob', { jobId })).job;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    close: () => c.close(),
  };
}
