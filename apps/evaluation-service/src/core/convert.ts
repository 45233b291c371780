/** Records → contract messages. */
import { common, evaluation } from '@medtune/contracts';
import type { RunRecord } from './records';

const DS = evaluation.DecodingSource;

/** The generation settings as applied: the worker's report for model-config runs once known. */
function generationOf(r: RunRecord): { generation: RunRecord['generation'] | Partial<RunRecord['generation']>; greedy?: boolean } {
  if (r.decoding === DS.DECODING_SOURCE_MODEL_GENERATION_CONFIG) {
    const { maxNewTokens, seed } = r.generation;
    if (!r.applied) return { generation: { maxNewTokens, seed } };
    return { generation: { maxNewTokens, seed, temperature: r.applied.temperature, topP: r.applied.topP }, greedy: !r.applied.sampled };
  }
  return { generation: r.generation, greedy: r.generation.temperature === 0 };
}

/** The artifact a run judged; runs stored before artifact_kind existed ran the adapter, else the merged model. */
export function judged(r: RunRecord): { artifactKind: common.ArtifactKind; artifactUri: string } {
  const K = common.ArtifactKind;
  const artifactKind = r.artifactKind ?? (r.adapterUri ? K.ARTIFACT_KIND_ADAPTER : r.mergedUri ? K.ARTIFACT_KIND_MERGED_16BIT : K.ARTIFACT_KIND_UNSPECIFIED);
  return { artifactKind, artifactUri: r.ggufUri || r.mergedUri || r.adapterUri };
}

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
    ...generationOf(r),
    ...(r.decoding ? { decodingSource: r.decoding } : {}),
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
    ...judged(r),
  };
}
