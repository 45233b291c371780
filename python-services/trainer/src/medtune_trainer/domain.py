"""The worker's domain objects: resolved job settings, events, artifacts. Transport-free; see
converters.py for the protobuf mapping."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Union


class BackendName(str, enum.Enum):
    AUTO = "auto"
    UNSLOTH = "unsloth"
    HF = "hf"


class Precision(str, enum.Enum):
    AUTO = "auto"
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"


class JobState(str, enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    UPLOADING = "uploading"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED)


class FailureClass(str, enum.Enum):
    USER_ERROR = "user_error"
    SETUP = "setup"
    RESOURCE = "resource"
    PLATFORM = "platform"


class ArtifactKind(str, enum.Enum):
    ADAPTER = "adapter"
    MERGED_16BIT = "merged_16bit"
    GGUF = "gguf"
    CHECKPOINT = "checkpoint"


@dataclass(frozen=True)
class Hyperparameters:
    """Trainer settings with the seed's defaults (DESIGN.md, "The reference workload")."""

    batch_size: int = 2
    gradient_accumulation_steps: int = 4
    warmup_steps: int = 5
    learning_rate: float = 2e-4
    lr_scheduler_type: str = "linear"
    optimizer: str = "adamw_8bit"
    weight_decay: float = 0.01
    seed: int = 8137
    logging_steps: int = 10
    num_train_epochs: float = 3.0
    max_steps: int = 0
    max_seq_length: int = 4096
    precision: Precision = Precision.AUTO
    load_in_4bit: bool = True
    packing: bool = False
    save_steps: int = 0
    # Data-parallel ranks (one process per GPU; gloo processes on CPU). Global batch =
    # batch_size x gradient_accumulation_steps x gpus.
    gpus: int = 1
    # "seed": batch_size x gradient_accumulation_steps and checkpointing as given; "auto": the
    # worker's memory-aware layout of the same global batch (plan.py).
    plan: str = "auto"

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.gradient_accumulation_steps * self.gpus


SEED_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA settings with the seed's defaults."""

    r: int = 32
    alpha: float = 16.0
    dropout: float = 0.0
    bias: str = "none"
    target_modules: tuple[str, ...] = SEED_TARGET_MODULES
    use_rslora: bool = False
    use_loftq: bool = False
    random_state: int = 8137
    gradient_checkpointing: str = "unsloth"


@dataclass(frozen=True)
class ExportSettings:
    adapter: bool = True
    merged_16bit: bool = True
    gguf: bool = False
    gguf_quantization: str = "q8_0"


@dataclass(frozen=True)
class DatasetSource:
    address: str
    version_digest: str
    auth_token: str = ""


@dataclass(frozen=True)
class LocalJsonlSource:
    path: str
    template_name: str = "medical-o1-zh"
    # A user template given inline (inference, train); None uses template_name's builtin.
    template_formats: Optional[tuple[str, str]] = None


@dataclass(frozen=True)
class JobSpec:
    """A job's settings with every default resolved."""

    base_model: str
    data: Union[DatasetSource, LocalJsonlSource]
    hyperparameters: Hyperparameters
    lora: LoraSettings
    backend: BackendName
    artifact_root: str
    exports: ExportSettings
    resume_from_checkpoint: str = ""


@dataclass
class Failure:
    failure_class: FailureClass
    message: str
    detail: str = ""


@dataclass
class ArtifactFile:
    path: str
    sha256: str
    size_bytes: int


@dataclass
class Artifact:
    kind: ArtifactKind
    uri: str
    sha256: str
    size_bytes: int
    files: list[ArtifactFile] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class Checkpoint:
    step: int
    uri: str
    artifact: Artifact
    created_time: float


@dataclass
class Progress:
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    eta_seconds: float = 0.0
    tokens_per_second: float = 0.0


# Event payloads: exactly one per event.
@dataclass
class StateChanged:
    state: JobState
    reason: str = ""
    failure: Optional[Failure] = None


@dataclass
class MetricsLogged:
    step: int
    epoch: float
    values: dict[str, float]


@dataclass
class CheckpointSaved:
    checkpoint: Checkpoint


@dataclass
class ArtifactReady:
    artifact: Artifact


@dataclass
class BackendSelected:
    backend: BackendName
    reason: str
    versions: dict[str, str]


@dataclass
class ExecutionPlan:
    """How the global batch is executed (plan.py); same mathematics whichever is chosen."""

    requested: str
    micro_batch_size: int
    gradient_accumulation_steps: int
    gpus: int
    gradient_checkpointing: str
    packing: bool
    reason: str
    probe_peak_allocated_bytes: int = 0
    probe_peak_reserved_bytes: int = 0
    gpu_free_bytes: int = 0

    @property
    def global_batch_size(self) -> int:
        return self.micro_batch_size * self.gradient_accumulation_steps * self.gpus


@dataclass
class Notice:
    level: str  # "info" | "warning"
    code: str
    message: str


Payload = Union[StateChanged, Progress, MetricsLogged, CheckpointSaved, ArtifactReady, BackendSelected, Notice, ExecutionPlan]


@dataclass
class JobEvent:
    job_id: str
    sequence: int
    time: float
    attempt: int
    payload: Payload


@dataclass
class GenerationParams:
    max_new_tokens: int = 1200
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 8137


@dataclass(frozen=True)
class InferenceModel:
    base_model: str = ""
    adapter_uri: str = ""
    merged_uri: str = ""
    gguf_uri: str = ""  # a GGUF file run by llama.cpp (Generate only)
    load_in_4bit: bool = True
    max_seq_length: int = 4096
    backend: BackendName = BackendName.AUTO


@dataclass
class Completion:
    index: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


@dataclass
class LossResult:
    mean_loss: float
    rows: int
    tokens: int
    row_losses: list[float]
