/** The thin gRPC adapter of medtune.evaluation.v1.EvaluationService. */
import { evaluation } from '@medtune/contracts';
import { serverStream, unary, type ServiceHandlers } from '@medtune/kit';
import type { EvaluationCore } from '../core/evaluations';

/** Handlers calling the core; the kit maps thrown DomainErrors to status. */
export function evaluationHandlers(core: EvaluationCore): ServiceHandlers<typeof evaluation.EvaluationServiceService> {
  return {
    createEvalSet: unary(async (req) => core.createSet(req)),
    getEvalSet: unary(async (req) => ({ evalSet: await core.getSet(req.name) })),
    listEvalSets: unary(async () => ({ evalSets: await core.listSets() })),
    startEvaluation: unary(async (req) => core.start(req)),
    getEvaluation: unary(async (req) => ({ evaluation: await core.get(req.evaluationId) })),
    listEvaluations: unary(async (req) => core.list(req)),
    watchEvaluation: serverStream(async function* (req, ctx) {
      const stop = AbortSignal.any([ctx.signal, ctx.stopping]);
      for await (const e of core.watch(req.evaluationId, stop)) yield { evaluation: e };
    }),
    listItemResults: unary(async (req) => core.listItems(req)),
    compareEvaluations: unary(async (req) => ({ comparison: await core.compare(req.baselineEvaluationId, req.candidateEvaluationId) })),
    getComparison: unary(async (req) => ({ comparison: await core.getComparison(req.comparisonId) })),
    listComparisons: unary(async (req) => core.listComparisons(req)),
  };
}
