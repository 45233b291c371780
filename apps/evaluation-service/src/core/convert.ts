/** Records → contract messages. */
import type { evaluation } from '@medtune/contracts';
import type { RunRecord } from './records';

/** The contract form of a run. */
export function toEvaluation(r: RunRecord): evaluation.Evaluation {
  return {
    evaluationId: r.id,
    model: r.model,
    baseModel: r.baseModel,
    adapterUri: r.adapterUri || r.mergedUri,
    registryName: r.registryName,
    registryVersion: r.registryVersion,
    evalSet: r.evalSet,
    templateName: r.template.name,
    generation: r.generation,
    status: r.status,
    itemsDone: r.itemsDone,
    itemsTotal: r.itemsTotal,
    scores: r.scores,
    failure: r.failure,
    trackingRunId: r.trackingRunId,
    workerId: r.workerId,
    createTime: r.createTime,
    endTime: r.endTime,
    evalLossDatasetDigest: r.evalLossDigest,
  };
}
