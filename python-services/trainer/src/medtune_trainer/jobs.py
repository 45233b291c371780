"""The worker's core: one job (or one generation) at a time, jobs run on their own thread, their
state is a fold over their events, and their files live under <artifact root>/<job_id>/:

    job.json          the request (for idempotency) and the resolved spec
    events.jsonl      every event, one JSON object a line (a restarted worker serves them)
    checkpoints/      checkpoint-<step>/ (adapter, optimizer, scheduler, trainer state)
    adapter/          adapter_config.json, adapter_model.safetensors, tokenizer files
    merged_16bit/     config.json, model*.safetensors, tokenizer files
    gguf/             model-<type>.gguf
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Optional

from . import domain as d
from .artifacts import path_from_uri
from .codec import from_jsonable, to_jsonable
from .errors import AlreadyExists, FailedPrecondition, NotFound, OutOfRange, ResourceExhausted, Unavailable
from .events import EventLog
from .storage import is_s3
from .validate import validate_job_id, validate_spec

log = logging.getLogger(__name__)


def at_rest(spec: d.JobSpec) -> d.JobSpec:
    """The spec as it may be stored: without the dataset credential (the files of a job are read by
    the registry and evaluation too; a resumed attempt brings a fresh credential in its StartJob)."""
    if isinstance(spec.data, d.DatasetSource) and spec.data.auth_token:
        return replace(spec, data=replace(spec.data, auth_token=""))
    return spec


@dataclass
class Job:
    """A job as the worker knows it; everything but the request is derived from its events."""

    job_id: str
    spec: d.JobSpec
    spec_key: bytes  # the request's spec, serialized deterministically: same key, same job
    attempt: int
    created_time: float
    job_dir: Path
    log: EventLog
    state: d.JobState = d.JobState.STARTING
    backend: d.BackendName = d.BackendName.AUTO
    backend_reason: str = ""
    progress: d.Progress = field(default_factory=d.Progress)
    artifacts: list[d.Artifact] = field(default_factory=list)
    checkpoints: list[d.Checkpoint] = field(default_factory=list)
    failure: Optional[d.Failure] = None
    execution_plan: Optional[d.ExecutionPlan] = None
    end_time: float = 0.0
    cancel: threading.Event = field(default_factory=threading.Event)
    interrupt: threading.Event = field(default_factory=threading.Event)
    thread: Optional[threading.Thread] = None

    def apply(self, ev: d.JobEvent) -> None:
        p = ev.payload
        self.attempt = max(self.attempt, ev.attempt)
        if isinstance(p, d.StateChanged):
            self.state = p.state
            if p.state.terminal:
                self.end_time = ev.time
                self.failure = p.failure
            elif p.state == d.JobState.STARTING:
                self.end_time, self.failure = 0.0, None
        elif isinstance(p, d.Progress):
            self.progress = p
        elif isinstance(p, d.BackendSelected):
            self.backend, self.backend_reason = p.backend, p.reason
        elif isinstance(p, d.CheckpointSaved):
            self.checkpoints.append(p.checkpoint)
        elif isinstance(p, d.ArtifactReady):
            self.artifacts.append(p.artifact)
        elif isinstance(p, d.ExecutionPlan):
            self.execution_plan = p

    def emit(self, payload: d.Payload) -> d.JobEvent:
        ev = self.log.append(self.attempt, payload)
        self.apply(ev)
        return ev


@dataclass
class Prepared:
    """A validated job, ready to run: token ids per row and notices to emit."""

    input_ids: list[list[int]]
    notices: list[d.Notice]
    backend: d.BackendName
    backend_reason: str


# prepare(spec) -> Prepared, raising domain errors; run(job, prepared) does the work and returns
# the terminal state, which the manager emits after freeing the busy slot.
PrepareFn = Callable[[d.JobSpec], Prepared]
RunFn = Callable[["Job", Prepared], d.StateChanged]


class JobManager:
    """Starts, tracks, cancels and interrupts jobs; holds the single busy slot."""

    def __init__(self, default_root: Path, prepare: PrepareFn, run: RunFn, clock: Callable[[], float] = time.time):
        self.default_root = default_root
        self._prepare = prepare
        self._run = run
        self._clock = clock
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()
        self._slot = threading.Lock()
        self._busy_with = ""  # job id or "generate"
        self._shutting_down = False

    # -- the busy slot -------------------------------------------------------------------------
    def acquire(self, what: str) -> None:
        if self._shutting_down:
            raise Unavailable("the worker is shutting down")
        if not self._slot.acquire(blocking=False):
            raise ResourceExhausted(f"the worker is busy ({self._busy_with or 'another request'}); retry later")
        self._busy_with = what

    def release(self) -> None:
        self._busy_with = ""
        self._slot.release()

    @property
    def busy_with(self) -> str:
        return self._busy_with

    # -- jobs ----------------------------------------------------------------------------------
    def start(self, job_id: str, spec: d.JobSpec, spec_key: bytes, attempt: int) -> tuple[Job, bool]:
        validate_job_id(job_id)
        attempt = attempt or 1
        existing = self.find(job_id)
        if existing is not None:
            same = existing.spec_key == spec_key and existing.attempt == attempt
            if same:
                return existing, False
            if attempt <= existing.attempt:
                raise AlreadyExists(
                    f"job {job_id} already exists with other settings (attempt {existing.attempt}); use a new job_id"
                )
            if not existing.state.terminal:
                raise FailedPrecondition(f"job {job_id} attempt {existing.attempt} is still {existing.state.value}")
            if existing.state == d.JobState.SUCCEEDED:
                raise FailedPrecondition(f"job {job_id} already succeeded; nothing to resume")
        validate_spec(spec)
        self.acquire(job_id)
        try:
            prepared = self._prepare(spec)
            with self._lock:
                job = self._new_attempt(existing, job_id, spec, spec_key, attempt)
                self._jobs[job_id] = job
            job.emit(d.StateChanged(d.JobState.STARTING, f"attempt {attempt} accepted"))
            job.thread = threading.Thread(target=self._thread, args=(job, prepared), name=f"job-{job_id}", daemon=True)
            job.thread.start()
        except BaseException:
            self.release()
            raise
        return job, True

    def _new_attempt(self, existing: Optional[Job], job_id: str, spec: d.JobSpec, key: bytes, attempt: int) -> Job:
        # An s3:// root: the job's files (and its staged artifacts) live under the worker's own root,
        # its artifacts and checkpoints are uploaded (storage.JobStore).
        job_dir = self.default_root / job_id if is_s3(spec.artifact_root) else path_from_uri(spec.artifact_root, "spec.artifact_root") / job_id
        job_dir.mkdir(parents=True, exist_ok=True)
        if existing is not None and existing.job_dir == job_dir:
            ev_log = existing.log
            ev_log.reopen()
        else:
            ev_log = EventLog.load(job_id, job_dir / "events.jsonl", self._clock)
        job = Job(job_id, spec, key, attempt, self._clock(), job_dir, ev_log)
        for ev in ev_log.events():
            job.apply(ev)
        job.attempt = attempt
        (job_dir / "job.json").write_text(
            json.dumps(
                {"job_id": job_id, "attempt": attempt, "created_time": job.created_time, "spec_key": key.hex(), "spec": to_jsonable(at_rest(spec))},
                ensure_ascii=False,
                indent=1,
            )
        )
        if job_dir.parent != self.default_root:
            index = self.default_root / ".jobs"
            index.mkdir(parents=True, exist_ok=True)
            (index / job_id).write_text(str(job_dir))
        return job

    def _thread(self, job: Job, prepared: Prepared) -> None:
        try:
            final = self._run(job, prepared)
        except BaseException:  # the runner classifies failures itself; this is the last resort
            log.exception("job thread crashed", extra={"job_id": job.job_id})
            final = d.StateChanged(d.JobState.FAILED, "worker error", d.Failure(d.FailureClass.PLATFORM, "internal error in the worker; see its log"))
        # Free first, then tell: whoever sees the terminal event may start the next job at once.
        self.release()
        job.emit(final)
        job.log.close_file()

    def find(self, job_id: str) -> Optional[Job]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                job = self._load(job_id)
                if job is not None:
                    self._jobs[job_id] = job
            return job

    def get(self, job_id: str) -> Job:
        job = self.find(job_id)
        if job is None:
            raise NotFound(f"job {job_id} is not known to this worker")
        return job

    def _load(self, job_id: str) -> Optional[Job]:
        """A job from an earlier run of the worker process, from its files."""
        if not job_id or "/" in job_id or job_id.startswith("."):
            return None
        job_dir = self.default_root / job_id
        pointer = self.default_root / ".jobs" / job_id
        if pointer.is_file():
            job_dir = Path(pointer.read_text().strip())
        meta_path = job_dir / "job.json"
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text())
        ev_log = EventLog.load(job_id, job_dir / "events.jsonl", self._clock)
        job = Job(job_id, from_jsonable(d.JobSpec, meta["spec"]), bytes.fromhex(meta["spec_key"]), meta["attempt"], meta["created_time"], job_dir, ev_log)
        for ev in ev_log.events():
            job.apply(ev)
        if not job.state.terminal:
            # The process that ran it is gone (crash or kill): it can only resume elsewhere.
            job.emit(d.StateChanged(d.JobState.INTERRUPTED, "the worker process restarted while the job ran; resume from its last checkpoint"))
            job.log.close_file()
        return job

    def cancel(self, job_id: str, reason: str) -> Job:
        job = self.get(job_id)
        if not job.state.terminal and not job.cancel.is_set():
            job.cancel.set()
            job.emit(d.Notice("info", "cancel_requested", reason or "cancel requested"))
        return job

    def watch(self, job_id: str, from_sequence: int, is_active: Callable[[], bool]) -> Iterator[d.JobEvent]:
        job = self.get(job_id)
        last = job.log.last_sequence
        if from_sequence > last + 1:
            raise OutOfRange(f"from_sequence {from_sequence} is beyond the last event + 1 ({last + 1})")
        return job.log.follow(from_sequence, is_active)

    def running_job(self) -> Optional[Job]:
        with self._lock:
            for job in self._jobs.values():
                if not job.state.terminal and job.thread is not None and job.thread.is_alive():
                    return job
        return None

    def shutdown(self, timeout_s: float) -> Optional[Job]:
        """Refuses new work; asks the running job to checkpoint and stop (INTERRUPTED); waits."""
        self._shutting_down = True
        job = self.running_job()
        if job is not None:
            job.interrupt.set()
            if job.thread is not None:
                job.thread.join(timeout_s)
        return job
