// @medtune/testing: test support shared by every TS spec (see libs/testing/README.md).
// Server URLs come from the vitest globalSetup in ./global-setup.ts (not exported: vitest loads it).
export { testServerUrls } from './context';
export { CHROMIUM_FLAGS, CHROMIUM_PATH, launchChromium, type TestBrowser } from './browser';
export { collectEvents, subjectMatches, type CollectedEvent, type EventCollector, type EventMatch } from './events';
export { grpcHealthStatus, type HealthStatus } from './grpc-health';
export { randomId } from './ids';
export { testMongo, type TestMongo, type TestMongoOptions } from './mongo';
export { testNats, type TestNats, type TestNatsOptions } from './nats';
export { freePort } from './ports';
export { testS3, type TestS3 } from './s3';
export { startNatsCluster, type NatsCluster, type NatsNode } from './nats-cluster';
export {
  printLogsOnFailure,
  startProcess,
  type ExitInfo,
  type ReadyWhen,
  type RunningProcess,
  type StartProcessOptions,
} from './process';
export { repoRoot, startService, startTrainerWorker, trainerPython, type StartedService } from './services';
export { waitFor, type WaitForOptions } from './wait-for';
export { storedMessages, type StoredMessage } from './stream';
