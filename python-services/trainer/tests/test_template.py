"""The seed's template renders byte for byte as the seed script does."""

import json

from medtune_trainer.template import MEDICAL_O1_ZH

from conftest import SFT_ZH

EOS = "<｜end▁of▁sentence｜>"

# Written out by hand from the seed script (prompt_style / train_prompt_style), not from the code.
EXPECTED_PROMPT_HEAD = """以下是描述任务的指令，以及提供更多上下文的输入。
  请写出恰当完成该请求的回答。
  在回答之前，请仔细思考问题，并创建一个逐步的思维链，以确保回答合乎逻辑且准确。
  ### Instruction:
  你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。
  请回答以下医学问题。
  ### Question:
  """


def seed_train_text(q: str, cot: str, resp: str) -> str:
    # The seed: train_prompt_style.format(question, cot, response) + EOS.
    prompt_style = EXPECTED_PROMPT_HEAD + "{}\n  ### Response:\n  <think>{}"
    train_prompt_style = prompt_style + "\n  </think>\n  {}"
    return train_prompt_style.format(q, cot, resp) + EOS


def test_training_text_is_byte_identical_for_a_real_row():
    row = json.loads(SFT_ZH.read_text(encoding="utf-8"))[0]
    got = MEDICAL_O1_ZH.train_text(row["Question"], row["Complex_CoT"], row["Response"], EOS)
    want = seed_train_text(row["Question"], row["Complex_CoT"], row["Response"])
    assert got.encode("utf-8") == want.encode("utf-8")
    assert got.startswith("以下是描述任务的指令") and got.endswith(row["Response"] + EOS)


def test_known_row_exact_string():
    got = MEDICAL_O1_ZH.train_text("Q?", "step 1", "answer", EOS)
    assert got == (
        EXPECTED_PROMPT_HEAD + "Q?\n  ### Response:\n  <think>step 1\n  </think>\n  answer<｜end▁of▁sentence｜>"
    )


def test_inference_prompt_ends_with_think_and_braces_in_data_are_kept():
    p = MEDICAL_O1_ZH.prompt("剂量 {cot} 为 {1}")
    assert p == EXPECTED_PROMPT_HEAD + "剂量 {cot} 为 {1}\n  ### Response:\n  <think>"
    assert p.endswith("  <think>") and not p.endswith(" \n")
