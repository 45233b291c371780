"""Rows from the dataset service (resumed by offset after a broken stream) train a job; the GGUF
route works offline for q8_0 and f16."""

from __future__ import annotations

import json
import threading
from concurrent import futures

import grpc
import pytest
import torch

from medtune.common.v1 import common_pb2 as c
from medtune.dataset.v1 import dataset_pb2 as ds
from medtune.dataset.v1 import dataset_pb2_grpc as ds_grpc
from medtune.trainer.v1 import trainer_pb2 as t
from medtune_trainer import domain as d
from medtune_trainer.data import stream_dataset
from medtune_trainer.gguf_export import export_gguf
from medtune_trainer.template import MEDICAL_O1_ZH

from conftest import wait_terminal

EOS = "<｜end▁of▁sentence｜>"


class FakeDatasets(ds_grpc.DatasetServiceServicer):
    """Streams fixed rows; the first stream breaks (UNAVAILABLE) after `break_after` rows."""

    def __init__(self, texts: list[str], break_after: int):
        self.texts = texts
        self.break_after = break_after
        self.offsets: list[int] = []
        self.lock = threading.Lock()

    def StreamRows(self, request, context):
        if request.digest != "sha256:abc":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such version")
        with self.lock:
            self.offsets.append(request.offset)
            first = len(self.offsets) == 1
        for i in range(request.offset, len(self.texts)):
            if first and i == self.break_after:
                context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset")
            yield ds.StreamRowsResponse(row=ds.Row(index=i, text=self.texts[i], source_row=i + 1))


@pytest.fixture(scope="module")
def datasets_server(rows_jsonl):
    rows = [json.loads(x) for x in rows_jsonl.read_text(encoding="utf-8").splitlines()]
    texts = [MEDICAL_O1_ZH.train_text(r["Question"], r["Complex_CoT"], r["Response"], EOS) for r in rows[::2]]
    fake = FakeDatasets(texts, break_after=5)
    server = grpc.server(futures.ThreadPoolExecutor(4))
    ds_grpc.add_DatasetServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield fake, f"127.0.0.1:{port}"
    server.stop(0)


def test_stream_resumes_from_the_next_offset(datasets_server):
    fake, addr = datasets_server
    fake.offsets.clear()
    rows = stream_dataset(d.DatasetSource(addr, "sha256:abc"), 1, sleep=lambda s: None)
    assert [r.text for r in rows] == fake.texts
    assert fake.offsets == [0, 5]


def test_unknown_version_is_a_failed_precondition(stub, tiny_model, datasets_server):
    _, addr = datasets_server
    spec = t.JobSpec(base_model=str(tiny_model), dataset=t.DatasetSource(address=addr, version_digest="sha256:nope"))
    with pytest.raises(grpc.RpcError) as err:
        stub.StartJob(t.StartJobRequest(job_id="ds-missing", spec=spec, attempt=1), timeout=60)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "sha256:nope" in err.value.details()


def test_job_trains_on_dataset_service_rows(stub, tiny_model, datasets_server):
    _, addr = datasets_server
    spec = t.JobSpec(
        base_model=str(tiny_model),
        dataset=t.DatasetSource(address=addr, version_digest="sha256:abc", auth_token="tok"),
        hyperparameters=c.Hyperparameters(max_steps=2, logging_steps=1, max_seq_length=160, gradient_accumulation_steps=1),
        lora=c.LoraConfig(r=4, gradient_checkpointing="false"),
        exports=c.ExportOptions(adapter=False, merged_16bit=False),
    )
    r = stub.StartJob(t.StartJobRequest(job_id="ds-job", spec=spec, attempt=1), timeout=60)
    assert not r.job.spec.dataset.auth_token  # never echoed
    job = wait_terminal(stub, "ds-job")
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    assert job.progress.step == 2


@pytest.fixture(scope="module")
def merged_bf16(tiny_model, tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("merged")
    AutoModelForCausalLM.from_pretrained(tiny_model).to(torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(out)
    return out


def test_gguf_q8_0_export_reads_back(merged_bf16, tmp_path):
    """The default GGUF type through the offline converter, read back by gguf.GGUFReader inside
    export_gguf (its details come from the reader). transformers loading a GGUF and matching the
    merged model's logits is in test_training.py (f16)."""
    out = tmp_path / "model-q8_0.gguf"
    details = export_gguf(merged_bf16, out, "q8_0")
    assert details["architecture"] == "qwen2" and details["gguf_version"] == "3" and details["tensors"] == "27"
    assert "Q8_0" in details["tensor_types"].split(",")
    assert details["tokenizer"] == "gpt2" and details["eos_token_id"] == "151643"
    assert details["vocab_size"] == "152064"
    assert out.stat().st_size < 0.75 * sum(p.stat().st_size for p in merged_bf16.glob("*.safetensors"))
