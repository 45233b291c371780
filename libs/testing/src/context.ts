import { inject } from 'vitest';

declare module 'vitest' {
  // Set by global-setup.ts, read in specs with inject() (or through testNats / testMongo).
  export interface ProvidedContext {
    /** nats:// URL of the NATS server (JetStream on) that this test run uses. */
    medtuneNatsUrl: string | undefined;
    /** mongodb:// URI of the MongoDB-protocol server (FerretDB by default) of this test run. */
    medtuneMongoUri: string | undefined;
  }
}

/** The URLs of the servers of this test run; fails with the reason when there are none. */
export function testServerUrls(): { natsUrl: string; mongoUri: string } {
  const natsUrl = inject('medtuneNatsUrl');
  const mongoUri = inject('medtuneMongoUri');
  if (!natsUrl || !mongoUri) {
    throw new Error(
      'no NATS / MongoDB for this test: the vitest globalSetup (libs/testing/src/global-setup.ts) starts them only ' +
        'when the run selects a spec that is not *.unit.spec.ts. Name the spec `*.int.spec.ts`, or start the servers ' +
        'with `tools/infra/infra.sh up`, or pass a url to the helper.',
    );
  }
  return { natsUrl, mongoUri };
}
