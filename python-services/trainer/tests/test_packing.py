"""Padding-free packing: rows concatenated with position ids restarting per row give each row the
loss it has alone (no attention across rows); a packed job trains."""

from __future__ import annotations

import torch

from medtune.trainer.v1 import trainer_pb2 as t

from conftest import all_events, small_spec, wait_terminal


def test_packed_rows_have_their_unpacked_loss(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    tok = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    rows = [tok(x)["input_ids"] for x in ["以下是描述任务的指令，以及提供更多上下文的输入。", "a 70-year-old man with chest pain", "胸痛"]]
    with torch.no_grad():
        alone = [model(input_ids=torch.tensor([r]), labels=torch.tensor([r]), use_cache=False).loss.item() for r in rows]
        batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)([{"input_ids": r} for r in rows])
        assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
    ids = batch["input_ids"][0]
    token_nll = -torch.log_softmax(logits[:-1], -1).gather(1, ids[1:, None])[:, 0]
    packed, off = [], 0
    for r in rows:
        packed.append(token_nll[off : off + len(r) - 1].mean().item())
        off += len(r)
    assert packed == torch.tensor(alone).tolist() or all(abs(a - b) < 1e-4 for a, b in zip(packed, alone)), (packed, alone)
    # And without position ids the rows would see each other: the check above can fail.
    with torch.no_grad():
        crossed = model(input_ids=batch["input_ids"], use_cache=False).logits[0]
    assert not torch.allclose(crossed, logits, atol=1e-4)


def test_packed_job_trains_and_reports_real_tokens(stub, tiny_model, rows_jsonl):
    spec = small_spec(tiny_model, rows_jsonl, max_steps=4, logging_steps=2, packing=True, max_seq_length=256)
    stub.StartJob(t.StartJobRequest(job_id="packed", spec=spec, attempt=1), timeout=60)
    job = wait_terminal(stub, "packed")
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    metrics = [e.metrics for e in all_events(stub, "packed") if e.WhichOneof("payload") == "metrics"]
    assert [m.step for m in metrics] == [2, 4]
    # Two packed sequences of up to 256 tokens a step, all real tokens: more than two padded rows hold.
    assert metrics[-1].values["tokens_seen"] > 4 * 2 * 160
