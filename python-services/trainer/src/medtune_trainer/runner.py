"""What a job does: prepare (tokenizer, rows, checks: synchronous, inside StartJob) and run
(backend, training, exports: on the job's thread)."""

from __future__ import annotations

import errno
import gc
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import domain as d
from . import merged_export
from .artifacts import atomic_dir, atomic_file
from .backends import selection as backends
from . import launcher
from .backends.common import SAVE_TOTAL_LIMIT, RunHooks, train
from .plan import is_oom, prepare_with_plan, seed_plan
from .data import read_local, stream_dataset
from .errors import FailedPrecondition, InvalidArgument, JobFailure
from .jobs import Job, Prepared
from .storage import JobStore, is_s3, local_checkpoint
from .validate import check_lengths

log = logging.getLogger(__name__)
SPLIT_TRAIN = 1


class TokenizerCache:
    """Tokenizers by base model (loading the 152k-token BPE takes about a second)."""

    def __init__(self):
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, base_model: str, field: str = "spec.base_model"):
        with self._lock:
            if base_model not in self._cache:
                from transformers import AutoTokenizer

                try:
                    self._cache[base_model] = AutoTokenizer.from_pretrained(base_model)
                except Exception as e:
                    raise InvalidArgument(field, f"cannot load a tokenizer from {base_model}: {type(e).__name__}: {e}") from e
            return self._cache[base_model]


class Runner:
    """prepare() and run() for JobManager."""

    def __init__(self, tokenizers: TokenizerCache, gguf_export=None, before_training=None):
        self.tokenizers = tokenizers
        self.gguf_export = gguf_export
        self.before_training = before_training  # e.g. drop the model cached for generation

    # -- synchronous part ----------------------------------------------------------------------
    def prepare(self, spec: d.JobSpec) -> Prepared:
        if spec.hyperparameters.gpus > 1 and spec.backend == d.BackendName.AUTO:
            # unsloth's DDP path runs AGPL-3.0-only modules (python-services/trainer/README.md,
            # "Licences"); transformers + peft + TRL + accelerate are Apache-2.0.
            backend, reason = d.BackendName.HF, "auto: a multi-GPU job runs on hf (Apache-2.0 throughout; unsloth's DDP path imports AGPL-3.0-only modules)"
        else:
            backend, reason = backends.select(spec.backend)
        tok = self.tokenizers.get(spec.base_model)
        if isinstance(spec.data, d.LocalJsonlSource):
            rows = read_local(spec.data, tok.eos_token or "")
        else:
            rows = stream_dataset(spec.data, SPLIT_TRAIN)
        gpus = spec.hyperparameters.gpus
        if gpus > 1 and gpus > launcher.ranks_available():
            raise FailedPrecondition(f"spec.hyperparameters.gpus: {gpus} ranks asked for; this worker has {launcher.ranks_available()}")
        max_len = spec.hyperparameters.max_seq_length
        ids = tok([r.text for r in rows], add_special_tokens=True)["input_ids"] if rows else []
        too_long = check_lengths([len(x) for x in ids], max_len)
        notices = []
        if too_long:
            notices.append(
                d.Notice(
                    "warning",
                    "rows_truncated",
                    f"{too_long} of {len(ids)} rows are longer than max_seq_length {max_len} tokens and are truncated",
                )
            )
        return Prepared([x[:max_len] for x in ids], notices, backend, reason)

    # -- the job thread ------------------------------------------------------------------------
    def run(self, job: Job, prepared: Prepared) -> d.StateChanged:
        """Trains and exports; returns the terminal state for the manager to emit once the busy
        slot is free and the model's memory released (a client that sees the end can start the
        next job at once)."""
        spec = job.spec
        backend = None
        try:
            job.emit(d.BackendSelected(prepared.backend, prepared.backend_reason, backends.versions()))
            for n in prepared.notices:
                job.emit(n)
            if job.interrupt.is_set() or job.cancel.is_set():
                return self._stopped_early(job)
            if self.before_training is not None:
                self.before_training()
            # An s3:// checkpoint (a job resumed on another node) is fetched here, once, before
            # any rank starts: every rank then finds the local copy.
            resume = fetch_resume(spec, job.job_dir)
            if launcher.wanted(spec):
                return launcher.run_job(job, prepared)
            backend = backends.make(prepared.backend)
            notify = lambda level, code, msg: job.emit(d.Notice(level, code, msg))  # noqa: E731
            plan, chosen, run_spec = prepare_with_plan(backend, spec, prepared.input_ids, notify)
            job.emit(chosen)
            if job.interrupt.is_set() or job.cancel.is_set():
                return self._stopped_early(job)
            hooks = RunHooks(
                cancel=job.cancel,
                interrupt=job.interrupt,
                on_running=lambda: job.emit(d.StateChanged(d.JobState.RUNNING, "training")),
                on_progress=job.emit,
                on_metrics=lambda step, epoch, values: job.emit(d.MetricsLogged(step, epoch, values)),
                on_checkpoint=lambda step, path: self._checkpoint(job, step, path),
            )
            try:
                outcome = train(backend, plan, run_spec, prepared.input_ids, job.job_dir / "checkpoints", hooks, resume)
            except BaseException as e:
                if run_spec == spec or not is_oom(e):
                    raise
                # The auto plan's probe was wrong for these rows: the seed's layout, from the last
                # checkpoint (same global batch, so the same steps), rather than a failed job.
                notify("warning", "plan_fallback", f"out of memory with the auto plan ({chosen.reason}); continuing with the seed's layout")
                plan = None
                gc.collect()
                backend.release()
                plan = backend.prepare_training(spec, notify)
                job.emit(seed_plan(spec, "auto fell back to the seed's layout after running out of memory"))
                last = job.checkpoints[-1] if job.checkpoints else None
                outcome = train(backend, plan, spec, prepared.input_ids, job.job_dir / "checkpoints", hooks, _local_copy(job, last) if last else resume)
            if outcome.status == "interrupted":
                return d.StateChanged(d.JobState.INTERRUPTED, f"worker shutdown; checkpoint at step {outcome.step}")
            if outcome.status == "cancelled":
                return d.StateChanged(d.JobState.CANCELLED, f"cancelled; checkpoint at step {outcome.step}")
            job.emit(d.StateChanged(d.JobState.UPLOADING, "saving artifacts"))
            self._export(job, backend, plan.loaded)
            return d.StateChanged(d.JobState.SUCCEEDED, f"trained {outcome.step} steps in {outcome.train_runtime_s:.1f} s")
        except BaseException as e:  # noqa: BLE001 - every failure ends the job with a class
            failure = classify(e)
            log.error("job failed", exc_info=True, extra={"job_id": job.job_id, "failure_class": failure.failure_class.value})
            return d.StateChanged(d.JobState.FAILED, failure.message, failure)
        finally:
            plan = None  # noqa: F841 - drop the model before the memory is released
            gc.collect()
            if backend is not None:
                backend.release()

    def _stopped_early(self, job: Job) -> d.StateChanged:
        if job.interrupt.is_set():
            return d.StateChanged(d.JobState.INTERRUPTED, "worker shutdown before the first step; no checkpoint")
        return d.StateChanged(d.JobState.CANCELLED, "cancelled before the first step; no checkpoint")

    def _checkpoint(self, job: Job, step: int, path: Path) -> None:
        if not path.is_dir():
            return
        job.emit(publish_checkpoint(JobStore(job.spec.artifact_root, job.job_id), step, path))

    def _export(self, job: Job, backend, loaded) -> None:
        spec, ex = job.spec, job.spec.exports
        store = JobStore(spec.artifact_root, job.job_id)
        scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=job.job_dir))
        try:
            adapter_dir = job.job_dir / "adapter" if ex.adapter else scratch / "adapter"
            with atomic_dir(adapter_dir) as tmp:
                loaded.model.save_pretrained(str(tmp))
                loaded.tokenizer.save_pretrained(str(tmp))
            if ex.adapter:
                job.emit(d.ArtifactReady(store.publish(adapter_dir, "adapter", d.ArtifactKind.ADAPTER, {"base_model": spec.base_model, "r": str(spec.lora.r)})))
            if not (ex.merged_16bit or ex.gguf):
                return
            merged_dir = job.job_dir / "merged_16bit" if ex.merged_16bit else scratch / "merged_16bit"
            with atomic_dir(merged_dir) as tmp:
                details = backend.save_merged(loaded, spec, adapter_dir, tmp)
                # A merge that transformers cannot open is a failed export, never an artifact.
                fixes = merged_export.standardize(tmp, spec.base_model)
                details.update(merged_export.verify(tmp, spec.base_model, adapter_dir))
                if fixes:
                    details["layout_fixes"] = "; ".join(fixes)
            if ex.merged_16bit:
                job.emit(d.ArtifactReady(store.publish(merged_dir, "merged_16bit", d.ArtifactKind.MERGED_16BIT, details)))
            if ex.gguf:
                if self.gguf_export is None:
                    raise JobFailure(d.FailureClass.SETUP.value, "GGUF export is not configured on this worker")
                target = job.job_dir / "gguf" / f"model-{ex.gguf_quantization}.gguf"
                with atomic_file(target) as tmp:
                    gdetails = self.gguf_export(merged_dir, tmp, ex.gguf_quantization)
                job.emit(d.ArtifactReady(store.publish(target, f"gguf/{target.name}", d.ArtifactKind.GGUF, gdetails)))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if store.remote is not None:
                # Uploaded: the staged copies are not artifacts (their URIs name the bucket).
                for staged in ("adapter", "merged_16bit", "gguf"):
                    shutil.rmtree(job.job_dir / staged, ignore_errors=True)


def _local_copy(job: Job, ck: d.Checkpoint) -> Path:
    """A checkpoint this job wrote: its staged copy when still there, else from its URI."""
    staged = job.job_dir / "checkpoints" / f"checkpoint-{ck.step}"
    if is_s3(ck.uri) and (staged / "trainer_state.json").is_file():
        return staged
    return local_checkpoint(ck.uri, job.job_dir, "checkpoint")


def fetch_resume(spec: d.JobSpec, job_dir: Path) -> Path | None:
    """The local directory of the checkpoint a job resumes from (None: a fresh start); an s3://
    one downloaded into the job's directory (storage.local_checkpoint)."""
    if not spec.resume_from_checkpoint:
        return None
    try:
        return local_checkpoint(spec.resume_from_checkpoint, job_dir)
    except (FailedPrecondition, InvalidArgument) as e:
        raise JobFailure(d.FailureClass.USER_ERROR.value, str(e)) from e


def publish_checkpoint(store: JobStore, step: int, path: Path, details: dict[str, str] | None = None) -> d.CheckpointSaved:
    """The event of a checkpoint just written (uploaded first when the root is s3://: the event
    names only a complete checkpoint); older remote ones pruned as save_total_limit does locally."""
    art = store.publish(path, f"checkpoints/{path.name}", d.ArtifactKind.CHECKPOINT, {"step": str(step), **(details or {})})
    store.prune_checkpoints(SAVE_TOTAL_LIMIT)
    return d.CheckpointSaved(d.Checkpoint(step, art.uri, art, time.time()))


def _user_input_cause(e: BaseException) -> str | None:
    """The request field a library error blames, when the cause is the job's input and not the
    platform: retrying the same request cannot succeed, so it must not be classified PLATFORM."""
    text = str(e)
    # peft: NoMatchingPeftModuleError / "Target modules {...} not found in the base model".
    if type(e).__name__ == "NoMatchingPeftModuleError" or (isinstance(e, ValueError) and "target modules" in text.lower()):
        return f"lora.target_modules: {text}"
    # transformers / huggingface_hub: a base model path or id that names no model.
    if isinstance(e, (OSError, ValueError)) and (
        "is not a local folder" in text or "does not appear to have a file named config.json" in text or type(e).__name__ == "HFValidationError"
    ):
        return f"base_model: {text}"
    return None


def classify(e: BaseException) -> d.Failure:
    """A failure class and a message a user can act on."""
    detail = f"{type(e).__name__}: {str(e)[:2000]}"
    if isinstance(e, JobFailure):
        return d.Failure(d.FailureClass(e.failure_class), e.message, e.detail or detail)
    try:
        import torch

        oom = isinstance(e, torch.OutOfMemoryError)
    except Exception:  # pragma: no cover
        oom = False
    if oom or isinstance(e, MemoryError):
        return d.Failure(d.FailureClass.RESOURCE, "out of memory: lower batch_size or max_seq_length, turn on load_in_4bit, or use a larger GPU", detail)
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return d.Failure(d.FailureClass.RESOURCE, "out of disk space under the artifact root", detail)
    if isinstance(e, ImportError):
        return d.Failure(d.FailureClass.SETUP, f"a library is missing or broken on the worker: {e}", detail)
    if isinstance(e, (InvalidArgument, ValueError)) and "tokenizer" in str(e).lower():
        return d.Failure(d.FailureClass.USER_ERROR, str(e), detail)
    user = _user_input_cause(e)
    if user:
        return d.Failure(d.FailureClass.USER_ERROR, user, detail)
    if isinstance(e, OSError):
        return d.Failure(d.FailureClass.SETUP, f"cannot read or write model files: {e}", detail)
    return d.Failure(d.FailureClass.PLATFORM, "internal error in the worker; retrying may succeed (details in the worker log)", detail)
