/**
 * @medtune/prompting — prompt templates as data: the seed's `medical-o1-zh` verbatim, its English
 * equivalent, validation of user templates, single-pass rendering of the inference prompt and
 * the training text, and reading the answer back out of a model's output.
 */
export { BUILTIN_TEMPLATES, DEFAULT_TEMPLATE_NAME, MEDICAL_O1_EN, MEDICAL_O1_ZH, builtinTemplate } from './builtins';
export {
  PLACEHOLDERS,
  TemplateError,
  parseFormat,
  placeholdersOf,
  renderFormat,
  renderInference,
  renderTraining,
  type Placeholder,
  type Segment,
  type TemplateValues,
} from './template';
export { TEMPLATE_NAME_PATTERN, sameTemplate, validateTemplate } from './validate';
export { extractAnswer, type ExtractAnswerOptions, type ExtractedAnswer } from './answer';
