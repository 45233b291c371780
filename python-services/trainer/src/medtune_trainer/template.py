"""Prompt templates. The seed's medical-o1-zh is data, kept verbatim (two-space indented
continuation lines, no trailing spaces), as in the seed script's prompt_style / train_prompt_style."""

from __future__ import annotations

from dataclasses import dataclass

_SEED_PROMPT = (
    "以下是描述任务的指令，以及提供更多上下文的输入。\n"
    "  请写出恰当完成该请求的回答。\n"
    "  在回答之前，请仔细思考问题，并创建一个逐步的思维链，以确保回答合乎逻辑且准确。\n"
    "  ### Instruction:\n"
    "  你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。\n"
    "  请回答以下医学问题。\n"
    "  ### Question:\n"
    "  {question}\n"
    "  ### Response:\n"
    "  <think>"
)


@dataclass(frozen=True)
class Template:
    """A prompt template: {question} in inference_format; {question}, {cot}, {response} in
    train_format. The tokenizer's EOS is appended to the training text."""

    name: str
    inference_format: str
    train_format: str

    def prompt(self, question: str) -> str:
        """The inference prompt (the seed's prompt_style.format(question, ""))."""
        return _render(self.inference_format, question=question)

    def train_text(self, question: str, cot: str, response: str, eos_token: str) -> str:
        """The training text (the seed's train_prompt_style.format(...) + EOS)."""
        return _render(self.train_format, question=question, cot=cot, response=response) + eos_token


def _render(fmt: str, **values: str) -> str:
    # Single pass: a value that itself contains "{cot}" is not substituted again, and braces in the
    # data need no escaping (str.format would choke on them).
    out: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "{":
            end = fmt.find("}", i)
            key = fmt[i + 1 : end] if end > 0 else ""
            if key in values:
                out.append(values[key])
                i = end + 1
                continue
        out.append(fmt[i])
        i += 1
    return "".join(out)


MEDICAL_O1_ZH = Template(
    name="medical-o1-zh",
    inference_format=_SEED_PROMPT,
    train_format=_SEED_PROMPT + "{cot}\n  </think>\n  {response}",
)

_EN_PROMPT = (
    "Below is an instruction that describes a task, paired with an input that provides further context.\n"
    "  Write a response that appropriately completes the request.\n"
    "  Before answering, think carefully about the question and create a step-by-step chain of thoughts to ensure a logical and accurate response.\n"
    "  ### Instruction:\n"
    "  You are a medical expert with advanced knowledge in clinical reasoning, diagnostics, and treatment planning.\n"
    "  Please answer the following medical question.\n"
    "  ### Question:\n"
    "  {question}\n"
    "  ### Response:\n"
    "  <think>"
)

# The English equivalent (same lines and markers), as in libs/prompting.
MEDICAL_O1_EN = Template(
    name="medical-o1-en",
    inference_format=_EN_PROMPT,
    train_format=_EN_PROMPT + "{cot}\n  </think>\n  {response}",
)

BUILTIN = {t.name: t for t in (MEDICAL_O1_ZH, MEDICAL_O1_EN)}
