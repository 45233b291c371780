/**
 * The templates that ship with medtune. `medical-o1-zh` is the seed script's prompt_style /
 * train_prompt_style, character for character (continuation lines indented by exactly two
 * spaces, as in the script's triple-quoted strings); its positional `{}` slots are named here.
 * `medical-o1-en` is an English rendering with the same structure and markers.
 */
import type { common } from '@medtune/contracts';

// The seed's prompt_style up to the question slot, between the question and cot slots, and
// train_prompt_style's addition between cot and response.
const ZH_HEAD =
  '以下是描述任务的指令，以及提供更多上下文的输入。\n' +
  '  请写出恰当完成该请求的回答。\n' +
  '  在回答之前，请仔细思考问题，并创建一个逐步的思维链，以确保回答合乎逻辑且准确。\n' +
  '  ### Instruction:\n' +
  '  你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。\n' +
  '  请回答以下医学问题。\n' +
  '  ### Question:\n' +
  '  ';
const RESPONSE_OPEN = '\n  ### Response:\n  <think>';
const THINK_CLOSE = '\n  </think>\n  ';

const EN_HEAD =
  'Below is an instruction that describes a task, paired with an input that provides further context.\n' +
  '  Write a response that appropriately completes the request.\n' +
  '  Before answering, think carefully about the question and create a step-by-step chain of thoughts to ensure a logical and accurate response.\n' +
  '  ### Instruction:\n' +
  '  You are a medical expert with advanced knowledge in clinical reasoning, diagnostics, and treatment planning.\n' +
  '  Please answer the following medical question.\n' +
  '  ### Question:\n' +
  '  ';

/** The seed's template (Chinese), the default of every import. */
export const MEDICAL_O1_ZH: common.PromptTemplate = Object.freeze({
  name: 'medical-o1-zh',
  description: "The seed script's Chinese chain-of-thought template (medical-o1-reasoning-SFT), verbatim.",
  inferenceFormat: `${ZH_HEAD}{question}${RESPONSE_OPEN}`,
  trainFormat: `${ZH_HEAD}{question}${RESPONSE_OPEN}{cot}${THINK_CLOSE}{response}`,
  language: 'zh',
  builtin: true,
});

/** The English equivalent of {@link MEDICAL_O1_ZH}: same lines, same markers. */
export const MEDICAL_O1_EN: common.PromptTemplate = Object.freeze({
  name: 'medical-o1-en',
  description: 'English equivalent of medical-o1-zh: same structure, "### Question:" / "### Response:" and <think> markers.',
  inferenceFormat: `${EN_HEAD}{question}${RESPONSE_OPEN}`,
  trainFormat: `${EN_HEAD}{question}${RESPONSE_OPEN}{cot}${THINK_CLOSE}{response}`,
  language: 'en',
  builtin: true,
});

/** Name of the default template. */
export const DEFAULT_TEMPLATE_NAME = MEDICAL_O1_ZH.name;

/** The built-in templates, in listing order. */
export const BUILTIN_TEMPLATES: readonly common.PromptTemplate[] = Object.freeze([MEDICAL_O1_ZH, MEDICAL_O1_EN]);

/** A built-in template by name, or undefined. */
export function builtinTemplate(name: string): common.PromptTemplate | undefined {
  return BUILTIN_TEMPLATES.find((t) => t.name === name);
}
