from google.protobuf import timestamp_pb2 as _timestamp_pb2
from medtune.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkerJobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_JOB_STATE_UNSPECIFIED: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_STARTING: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_RUNNING: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_UPLOADING: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_SUCCEEDED: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_FAILED: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_CANCELLED: _ClassVar[WorkerJobState]
    WORKER_JOB_STATE_INTERRUPTED: _ClassVar[WorkerJobState]

class NoticeLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_LEVEL_UNSPECIFIED: _ClassVar[NoticeLevel]
    NOTICE_LEVEL_INFO: _ClassVar[NoticeLevel]
    NOTICE_LEVEL_WARNING: _ClassVar[NoticeLevel]
WORKER_JOB_STATE_UNSPECIFIED: WorkerJobState
WORKER_JOB_STATE_STARTING: WorkerJobState
WORKER_JOB_STATE_RUNNING: WorkerJobState
WORKER_JOB_STATE_UPLOADING: WorkerJobState
WORKER_JOB_STATE_SUCCEEDED: WorkerJobState
WORKER_JOB_STATE_FAILED: WorkerJobState
WORKER_JOB_STATE_CANCELLED: WorkerJobState
WORKER_JOB_STATE_INTERRUPTED: WorkerJobState
NOTICE_LEVEL_UNSPECIFIED: NoticeLevel
NOTICE_LEVEL_INFO: NoticeLevel
NOTICE_LEVEL_WARNING: NoticeLevel

class DatasetSource(_message.Message):
    __slots__ = ("address", "version_digest", "auth_token")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VERSION_DIGEST_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    address: str
    version_digest: str
    auth_token: str
    def __init__(self, address: _Optional[str] = ..., version_digest: _Optional[str] = ..., auth_token: _Optional[str] = ...) -> None: ...

class LocalJsonlSource(_message.Message):
    __slots__ = ("path", "template")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    path: str
    template: _common_pb2.PromptTemplate
    def __init__(self, path: _Optional[str] = ..., template: _Optional[_Union[_common_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class JobSpec(_message.Message):
    __slots__ = ("base_model", "dataset", "local_jsonl", "hyperparameters", "lora", "backend", "artifact_root", "exports", "resume_from_checkpoint")
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    LOCAL_JSONL_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    LORA_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ROOT_FIELD_NUMBER: _ClassVar[int]
    EXPORTS_FIELD_NUMBER: _ClassVar[int]
    RESUME_FROM_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    base_model: str
    dataset: DatasetSource
    local_jsonl: LocalJsonlSource
    hyperparameters: _common_pb2.Hyperparameters
    lora: _common_pb2.LoraConfig
    backend: _common_pb2.Backend
    artifact_root: str
    exports: _common_pb2.ExportOptions
    resume_from_checkpoint: str
    def __init__(self, base_model: _Optional[str] = ..., dataset: _Optional[_Union[DatasetSource, _Mapping]] = ..., local_jsonl: _Optional[_Union[LocalJsonlSource, _Mapping]] = ..., hyperparameters: _Optional[_Union[_common_pb2.Hyperparameters, _Mapping]] = ..., lora: _Optional[_Union[_common_pb2.LoraConfig, _Mapping]] = ..., backend: _Optional[_Union[_common_pb2.Backend, str]] = ..., artifact_root: _Optional[str] = ..., exports: _Optional[_Union[_common_pb2.ExportOptions, _Mapping]] = ..., resume_from_checkpoint: _Optional[str] = ...) -> None: ...

class StartJobRequest(_message.Message):
    __slots__ = ("job_id", "spec", "attempt")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    spec: JobSpec
    attempt: int
    def __init__(self, job_id: _Optional[str] = ..., spec: _Optional[_Union[JobSpec, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class StartJobResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: WorkerJob
    created: bool
    def __init__(self, job: _Optional[_Union[WorkerJob, _Mapping]] = ..., created: bool = ...) -> None: ...

class WorkerJob(_message.Message):
    __slots__ = ("job_id", "state", "spec", "attempt", "backend", "backend_reason", "last_sequence", "progress", "artifacts", "failure", "created_time", "end_time", "execution_plan")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    BACKEND_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PLAN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: WorkerJobState
    spec: JobSpec
    attempt: int
    backend: _common_pb2.Backend
    backend_reason: str
    last_sequence: int
    progress: Progress
    artifacts: _containers.RepeatedCompositeFieldContainer[_common_pb2.Artifact]
    failure: _common_pb2.Failure
    created_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    execution_plan: ExecutionPlan
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[WorkerJobState, str]] = ..., spec: _Optional[_Union[JobSpec, _Mapping]] = ..., attempt: _Optional[int] = ..., backend: _Optional[_Union[_common_pb2.Backend, str]] = ..., backend_reason: _Optional[str] = ..., last_sequence: _Optional[int] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., artifacts: _Optional[_Iterable[_Union[_common_pb2.Artifact, _Mapping]]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., created_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., execution_plan: _Optional[_Union[ExecutionPlan, _Mapping]] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("step", "total_steps", "epoch", "eta_seconds", "tokens_per_second")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    epoch: float
    eta_seconds: float
    tokens_per_second: float
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., epoch: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., tokens_per_second: _Optional[float] = ...) -> None: ...

class MetricsLogged(_message.Message):
    __slots__ = ("step", "epoch", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    step: int
    epoch: float
    values: _containers.ScalarMap[str, float]
    def __init__(self, step: _Optional[int] = ..., epoch: _Optional[float] = ..., values: _Optional[_Mapping[str, float]] = ...) -> None: ...

class CheckpointSaved(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("step", "uri", "artifact", "created_time")
    STEP_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_FIELD_NUMBER: _ClassVar[int]
    step: int
    uri: str
    artifact: _common_pb2.Artifact
    created_time: _timestamp_pb2.Timestamp
    def __init__(self, step: _Optional[int] = ..., uri: _Optional[str] = ..., artifact: _Optional[_Union[_common_pb2.Artifact, _Mapping]] = ..., created_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StateChanged(_message.Message):
    __slots__ = ("state", "reason", "failure")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    state: WorkerJobState
    reason: str
    failure: _common_pb2.Failure
    def __init__(self, state: _Optional[_Union[WorkerJobState, str]] = ..., reason: _Optional[str] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class BackendSelected(_message.Message):
    __slots__ = ("backend", "reason", "versions")
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    backend: _common_pb2.Backend
    reason: str
    versions: _containers.ScalarMap[str, str]
    def __init__(self, backend: _Optional[_Union[_common_pb2.Backend, str]] = ..., reason: _Optional[str] = ..., versions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Notice(_message.Message):
    __slots__ = ("level", "code", "message")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    level: NoticeLevel
    code: str
    message: str
    def __init__(self, level: _Optional[_Union[NoticeLevel, str]] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ("job_id", "sequence", "time", "attempt", "state_changed", "progress", "metrics", "checkpoint_saved", "artifact_ready", "backend_selected", "notice", "execution_plan")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SAVED_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_READY_FIELD_NUMBER: _ClassVar[int]
    BACKEND_SELECTED_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PLAN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    sequence: int
    time: _timestamp_pb2.Timestamp
    attempt: int
    state_changed: StateChanged
    progress: Progress
    metrics: MetricsLogged
    checkpoint_saved: CheckpointSaved
    artifact_ready: _common_pb2.Artifact
    backend_selected: BackendSelected
    notice: Notice
    execution_plan: ExecutionPlan
    def __init__(self, job_id: _Optional[str] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ..., state_changed: _Optional[_Union[StateChanged, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., metrics: _Optional[_Union[MetricsLogged, _Mapping]] = ..., checkpoint_saved: _Optional[_Union[CheckpointSaved, _Mapping]] = ..., artifact_ready: _Optional[_Union[_common_pb2.Artifact, _Mapping]] = ..., backend_selected: _Optional[_Union[BackendSelected, _Mapping]] = ..., notice: _Optional[_Union[Notice, _Mapping]] = ..., execution_plan: _Optional[_Union[ExecutionPlan, _Mapping]] = ...) -> None: ...

class ExecutionPlan(_message.Message):
    __slots__ = ("requested", "micro_batch_size", "gradient_accumulation_steps", "gpus", "global_batch_size", "gradient_checkpointing", "packing", "reason", "probe_peak_allocated_bytes", "probe_peak_reserved_bytes", "gpu_free_bytes")
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    MICRO_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_CHECKPOINTING_FIELD_NUMBER: _ClassVar[int]
    PACKING_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PROBE_PEAK_ALLOCATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROBE_PEAK_RESERVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    GPU_FREE_BYTES_FIELD_NUMBER: _ClassVar[int]
    requested: str
    micro_batch_size: int
    gradient_accumulation_steps: int
    gpus: int
    global_batch_size: int
    gradient_checkpointing: str
    packing: bool
    reason: str
    probe_peak_allocated_bytes: int
    probe_peak_reserved_bytes: int
    gpu_free_bytes: int
    def __init__(self, requested: _Optional[str] = ..., micro_batch_size: _Optional[int] = ..., gradient_accumulation_steps: _Optional[int] = ..., gpus: _Optional[int] = ..., global_batch_size: _Optional[int] = ..., gradient_checkpointing: _Optional[str] = ..., packing: bool = ..., reason: _Optional[str] = ..., probe_peak_allocated_bytes: _Optional[int] = ..., probe_peak_reserved_bytes: _Optional[int] = ..., gpu_free_bytes: _Optional[int] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id", "from_sequence")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    from_sequence: int
    def __init__(self, job_id: _Optional[str] = ..., from_sequence: _Optional[int] = ...) -> None: ...

class WatchJobResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: JobEvent
    def __init__(self, event: _Optional[_Union[JobEvent, _Mapping]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: WorkerJob
    def __init__(self, job: _Optional[_Union[WorkerJob, _Mapping]] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: WorkerJob
    def __init__(self, job: _Optional[_Union[WorkerJob, _Mapping]] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ListCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints",)
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ...) -> None: ...

class InferenceModel(_message.Message):
    __slots__ = ("base_model", "adapter_uri", "merged_uri", "load_in_4bit", "max_seq_length", "backend", "gguf_uri")
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_URI_FIELD_NUMBER: _ClassVar[int]
    MERGED_URI_FIELD_NUMBER: _ClassVar[int]
    LOAD_IN_4BIT_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    GGUF_URI_FIELD_NUMBER: _ClassVar[int]
    base_model: str
    adapter_uri: str
    merged_uri: str
    load_in_4bit: bool
    max_seq_length: int
    backend: _common_pb2.Backend
    gguf_uri: str
    def __init__(self, base_model: _Optional[str] = ..., adapter_uri: _Optional[str] = ..., merged_uri: _Optional[str] = ..., load_in_4bit: bool = ..., max_seq_length: _Optional[int] = ..., backend: _Optional[_Union[_common_pb2.Backend, str]] = ..., gguf_uri: _Optional[str] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("model", "prompts", "params", "batch_size", "use_model_generation_config")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    USE_MODEL_GENERATION_CONFIG_FIELD_NUMBER: _ClassVar[int]
    model: InferenceModel
    prompts: _containers.RepeatedScalarFieldContainer[str]
    params: _common_pb2.GenerationParams
    batch_size: int
    use_model_generation_config: bool
    def __init__(self, model: _Optional[_Union[InferenceModel, _Mapping]] = ..., prompts: _Optional[_Iterable[str]] = ..., params: _Optional[_Union[_common_pb2.GenerationParams, _Mapping]] = ..., batch_size: _Optional[int] = ..., use_model_generation_config: bool = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("index", "text", "prompt_tokens", "completion_tokens", "finish_reason", "sampled", "temperature", "top_p")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    sampled: bool
    temperature: float
    top_p: float
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., finish_reason: _Optional[str] = ..., sampled: bool = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ...) -> None: ...

class EvaluateLossRequest(_message.Message):
    __slots__ = ("model", "dataset", "texts", "batch_size", "max_rows")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_ROWS_FIELD_NUMBER: _ClassVar[int]
    model: InferenceModel
    dataset: DatasetSource
    texts: TextList
    batch_size: int
    max_rows: int
    def __init__(self, model: _Optional[_Union[InferenceModel, _Mapping]] = ..., dataset: _Optional[_Union[DatasetSource, _Mapping]] = ..., texts: _Optional[_Union[TextList, _Mapping]] = ..., batch_size: _Optional[int] = ..., max_rows: _Optional[int] = ...) -> None: ...

class TextList(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluateLossResponse(_message.Message):
    __slots__ = ("mean_loss", "rows", "tokens", "row_losses")
    MEAN_LOSS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    ROW_LOSSES_FIELD_NUMBER: _ClassVar[int]
    mean_loss: float
    rows: int
    tokens: int
    row_losses: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, mean_loss: _Optional[float] = ..., rows: _Optional[int] = ..., tokens: _Optional[int] = ..., row_losses: _Optional[_Iterable[float]] = ...) -> None: ...

class GetWorkerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetWorkerInfoResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: WorkerInfo
    def __init__(self, info: _Optional[_Union[WorkerInfo, _Mapping]] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("worker_id", "address", "gpu_name", "gpu_memory_bytes", "gpu_count", "backends", "busy", "current_job_id", "versions", "host_memory_bytes")
    class VersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    GPU_NAME_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    BUSY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    HOST_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    address: str
    gpu_name: str
    gpu_memory_bytes: int
    gpu_count: int
    backends: _containers.RepeatedScalarFieldContainer[_common_pb2.Backend]
    busy: bool
    current_job_id: str
    versions: _containers.ScalarMap[str, str]
    host_memory_bytes: int
    def __init__(self, worker_id: _Optional[str] = ..., address: _Optional[str] = ..., gpu_name: _Optional[str] = ..., gpu_memory_bytes: _Optional[int] = ..., gpu_count: _Optional[int] = ..., backends: _Optional[_Iterable[_Union[_common_pb2.Backend, str]]] = ..., busy: bool = ..., current_job_id: _Optional[str] = ..., versions: _Optional[_Mapping[str, str]] = ..., host_memory_bytes: _Optional[int] = ...) -> None: ...
