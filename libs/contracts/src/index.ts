/**
 * @medtune/contracts — the generated gRPC / protobuf stubs of every medtune contract, one
 * namespace per proto package, plus the catalog of NATS streams and subjects.
 *
 * Everything under ./gen is produced by tools/contracts/generate.sh from proto/ and is never
 * edited by hand; this file and subjects.ts are the only hand-written parts of the lib.
 */
export * as common from './gen/medtune/common/v1/common';
export * as dataset from './gen/medtune/dataset/v1/dataset';
export * as training from './gen/medtune/training/v1/training';
export * as trainer from './gen/medtune/trainer/v1/trainer';
export * as tracking from './gen/medtune/tracking/v1/tracking';
export * as evaluation from './gen/medtune/evaluation/v1/evaluation';
export * as registry from './gen/medtune/registry/v1/registry';
export * as events from './gen/medtune/events/v1/events';
export * as admin from './gen/medtune/admin/v1/admin';
export * as health from './gen/grpc/health/v1/health';
export * from './subjects';
