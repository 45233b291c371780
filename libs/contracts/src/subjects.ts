/**
 * The catalog of NATS JetStream streams and subjects: one stream per domain, subjects
 * `medtune.<domain>.<entity>.<event>` (past tense), and the protobuf message each subject
 * carries. Publishers and consumers take subjects from here, never from string literals, and the
 * AsyncAPI document is checked against this table.
 */
import * as ev from './gen/medtune/events/v1/events';
import { JobState } from './gen/medtune/training/v1/training';

/** Encoder/decoder pair of a generated message type. */
export interface EventCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: any): T;
}

/** A JetStream stream that holds one domain's events. */
export interface StreamSpec {
  /** Stream name, e.g. MEDTUNE_TRAINING. */
  readonly name: string;
  /** Subject filter of the stream, e.g. medtune.training.> */
  readonly subjects: readonly string[];
  /** What it holds. */
  readonly description: string;
}

/** One subject and its payload type. */
export interface SubjectSpec<T = unknown> {
  /** The full subject. */
  readonly subject: string;
  /** The domain (and stream) it belongs to. */
  readonly domain: Domain;
  /** Fully qualified protobuf message name of the payload. */
  readonly messageType: string;
  /** The codec of the payload. */
  readonly codec: EventCodec<T>;
  /** What it means. */
  readonly description: string;
}

/** The domains that publish events. */
export type Domain = 'dataset' | 'training' | 'tracking' | 'evaluation' | 'registry';

/** One stream per domain. */
export const STREAMS: Readonly<Record<Domain, StreamSpec>> = {
  dataset: { name: 'MEDTUNE_DATASET', subjects: ['medtune.dataset.>'], description: 'Dataset versions: ready, failed, deleted.' },
  training: { name: 'MEDTUNE_TRAINING', subjects: ['medtune.training.>'], description: 'Training jobs: state transitions, progress, metrics, checkpoints, workers.' },
  tracking: { name: 'MEDTUNE_TRACKING', subjects: ['medtune.tracking.>'], description: 'Tracking runs: created, status changed.' },
  evaluation: { name: 'MEDTUNE_EVALUATION', subjects: ['medtune.evaluation.>'], description: 'Evaluation runs, comparisons and promotion decisions.' },
  registry: { name: 'MEDTUNE_REGISTRY', subjects: ['medtune.registry.>'], description: 'Registered models, versions and aliases.' },
};

function spec<T>(subject: string, messageType: string, codec: EventCodec<T>, description: string): SubjectSpec<T> {
  const domain = subject.split('.')[1] as Domain;
  return { subject, domain, messageType: `medtune.events.v1.${messageType}`, codec, description };
}

/** The token of a job state in subjects: JOB_STATE_CANCEL_REQUESTED → "cancel_requested". */
export function jobStateToken(state: JobState): string {
  return JobState[state].replace(/^JOB_STATE_/, '').toLowerCase();
}

const jobStates = [
  JobState.JOB_STATE_VALIDATING,
  JobState.JOB_STATE_QUEUED,
  JobState.JOB_STATE_STARTING,
  JobState.JOB_STATE_RUNNING,
  JobState.JOB_STATE_UPLOADING,
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCEL_REQUESTED,
  JobState.JOB_STATE_CANCELLED,
  JobState.JOB_STATE_RECOVERING,
] as const;

/** Subject of the event published when a job enters a state. */
export function jobStateSubject(state: JobState): string {
  return `medtune.training.job.${jobStateToken(state)}`;
}

/** Every subject medtune publishes. */
export const SUBJECTS = {
  datasetVersionReady: spec('medtune.dataset.version.ready', 'DatasetVersionReady', ev.DatasetVersionReady, 'A dataset version is stored, complete and immutable, with its token statistics.'),
  datasetVersionFailed: spec('medtune.dataset.version.failed', 'DatasetVersionFailed', ev.DatasetVersionFailed, 'An import was rejected; the validation report says why.'),
  datasetVersionDeleted: spec('medtune.dataset.version.deleted', 'DatasetVersionDeleted', ev.DatasetVersionDeleted, 'A dataset version was deleted.'),
  trainingJobProgressed: spec('medtune.training.job.progressed', 'JobProgressed', ev.JobProgressed, 'Progress of a running training job.'),
  trainingMetricsLogged: spec('medtune.training.metrics.logged', 'MetricsLogged', ev.MetricsLogged, 'Metrics of one logging step of a training job.'),
  trainingCheckpointSaved: spec('medtune.training.checkpoint.saved', 'CheckpointSaved', ev.CheckpointSaved, 'A training job saved a checkpoint.'),
  trainingWorkerRegistered: spec('medtune.training.worker.registered', 'WorkerChanged', ev.WorkerChanged, 'A trainer worker registered.'),
  trainingWorkerLost: spec('medtune.training.worker.lost', 'WorkerChanged', ev.WorkerChanged, 'A trainer worker stopped heartbeating.'),
  trackingRunCreated: spec('medtune.tracking.run.created', 'RunChanged', ev.RunChanged, 'A tracking run was created.'),
  trackingRunStatusChanged: spec('medtune.tracking.run.status_changed', 'RunChanged', ev.RunChanged, "A tracking run's status changed (finished, failed, killed, crashed)."),
  evaluationRunStarted: spec('medtune.evaluation.run.started', 'EvaluationRunChanged', ev.EvaluationRunChanged, 'An evaluation run started.'),
  evaluationRunCompleted: spec('medtune.evaluation.run.completed', 'EvaluationRunChanged', ev.EvaluationRunChanged, 'An evaluation run completed with scores.'),
  evaluationRunFailed: spec('medtune.evaluation.run.failed', 'EvaluationRunChanged', ev.EvaluationRunChanged, 'An evaluation run failed.'),
  evaluationComparisonCreated: spec('medtune.evaluation.comparison.created', 'ComparisonCreated', ev.ComparisonCreated, 'A paired comparison of two evaluation runs was stored.'),
  evaluationPromotionDecided: spec('medtune.evaluation.promotion.decided', 'PromotionDecided', ev.PromotionDecided, 'The promotion automation judged a version against the alias holder.'),
  registryModelCreated: spec('medtune.registry.model.created', 'RegisteredModelCreated', ev.RegisteredModelCreated, 'A registered model was created.'),
  registryVersionCreated: spec('medtune.registry.version.created', 'ModelVersionChanged', ev.ModelVersionChanged, 'A model version was created (pending verification).'),
  registryVersionReady: spec('medtune.registry.version.ready', 'ModelVersionChanged', ev.ModelVersionChanged, "A model version's artifacts were verified; it is usable."),
  registryVersionFailed: spec('medtune.registry.version.failed', 'ModelVersionChanged', ev.ModelVersionChanged, 'A model version failed verification.'),
  registryAliasMoved: spec('medtune.registry.alias.moved', 'AliasChanged', ev.AliasChanged, 'An alias was set or moved to a version.'),
  registryAliasDeleted: spec('medtune.registry.alias.deleted', 'AliasChanged', ev.AliasChanged, 'An alias was deleted.'),
} as const satisfies Record<string, SubjectSpec<any>>;

/** medtune.training.job.<state>: one subject per job state, all carrying JobStateChanged. */
export const JOB_STATE_SUBJECTS: ReadonlyMap<JobState, SubjectSpec<ev.JobStateChanged>> = new Map(
  jobStates.map((s) => [
    s,
    spec(jobStateSubject(s), 'JobStateChanged', ev.JobStateChanged, `A training job entered ${jobStateToken(s)}.`),
  ]),
);

/** Every subject spec, for catalogs and documentation. */
export const ALL_SUBJECTS: readonly SubjectSpec<any>[] = [...Object.values(SUBJECTS), ...JOB_STATE_SUBJECTS.values()];

/** Looks up the spec of a concrete subject. */
export function subjectSpec(subject: string): SubjectSpec<any> | undefined {
  return ALL_SUBJECTS.find((s) => s.subject === subject);
}

