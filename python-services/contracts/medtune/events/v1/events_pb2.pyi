from google.protobuf import timestamp_pb2 as _timestamp_pb2
from medtune.dataset.v1 import dataset_pb2 as _dataset_pb2
from medtune.evaluation.v1 import evaluation_pb2 as _evaluation_pb2
from medtune.registry.v1 import registry_pb2 as _registry_pb2
from medtune.tracking.v1 import tracking_pb2 as _tracking_pb2
from medtune.trainer.v1 import trainer_pb2 as _trainer_pb2
from medtune.training.v1 import training_pb2 as _training_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DatasetVersionReady(_message.Message):
    __slots__ = ("version", "created")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    version: _dataset_pb2.DatasetVersion
    created: bool
    def __init__(self, version: _Optional[_Union[_dataset_pb2.DatasetVersion, _Mapping]] = ..., created: bool = ...) -> None: ...

class DatasetVersionFailed(_message.Message):
    __slots__ = ("dataset_name", "source_name", "source_sha256", "report", "reason")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    source_name: str
    source_sha256: str
    report: _dataset_pb2.ValidationSummary
    reason: str
    def __init__(self, dataset_name: _Optional[str] = ..., source_name: _Optional[str] = ..., source_sha256: _Optional[str] = ..., report: _Optional[_Union[_dataset_pb2.ValidationSummary, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class DatasetVersionDeleted(_message.Message):
    __slots__ = ("digest", "dataset_name")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    digest: str
    dataset_name: str
    def __init__(self, digest: _Optional[str] = ..., dataset_name: _Optional[str] = ...) -> None: ...

class JobStateChanged(_message.Message):
    __slots__ = ("job", "previous_state", "state", "reason", "time", "sequence")
    JOB_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    job: _training_pb2.Job
    previous_state: _training_pb2.JobState
    state: _training_pb2.JobState
    reason: str
    time: _timestamp_pb2.Timestamp
    sequence: int
    def __init__(self, job: _Optional[_Union[_training_pb2.Job, _Mapping]] = ..., previous_state: _Optional[_Union[_training_pb2.JobState, str]] = ..., state: _Optional[_Union[_training_pb2.JobState, str]] = ..., reason: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., sequence: _Optional[int] = ...) -> None: ...

class JobProgressed(_message.Message):
    __slots__ = ("job_id", "run_id", "attempt", "progress", "sequence", "time")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    run_id: str
    attempt: int
    progress: _trainer_pb2.Progress
    sequence: int
    time: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[str] = ..., run_id: _Optional[str] = ..., attempt: _Optional[int] = ..., progress: _Optional[_Union[_trainer_pb2.Progress, _Mapping]] = ..., sequence: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MetricsLogged(_message.Message):
    __slots__ = ("job_id", "run_id", "sequence", "step", "values", "time")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    run_id: str
    sequence: int
    step: int
    values: _containers.ScalarMap[str, float]
    time: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[str] = ..., run_id: _Optional[str] = ..., sequence: _Optional[int] = ..., step: _Optional[int] = ..., values: _Optional[_Mapping[str, float]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckpointSaved(_message.Message):
    __slots__ = ("job_id", "checkpoint", "attempt")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    checkpoint: _trainer_pb2.Checkpoint
    attempt: int
    def __init__(self, job_id: _Optional[str] = ..., checkpoint: _Optional[_Union[_trainer_pb2.Checkpoint, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class WorkerChanged(_message.Message):
    __slots__ = ("worker", "job_id", "time")
    WORKER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    worker: _trainer_pb2.WorkerInfo
    job_id: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, worker: _Optional[_Union[_trainer_pb2.WorkerInfo, _Mapping]] = ..., job_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunChanged(_message.Message):
    __slots__ = ("run", "previous_status")
    RUN_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    run: _tracking_pb2.Run
    previous_status: _tracking_pb2.RunStatus
    def __init__(self, run: _Optional[_Union[_tracking_pb2.Run, _Mapping]] = ..., previous_status: _Optional[_Union[_tracking_pb2.RunStatus, str]] = ...) -> None: ...

class EvaluationRunChanged(_message.Message):
    __slots__ = ("evaluation",)
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    evaluation: _evaluation_pb2.Evaluation
    def __init__(self, evaluation: _Optional[_Union[_evaluation_pb2.Evaluation, _Mapping]] = ...) -> None: ...

class ComparisonCreated(_message.Message):
    __slots__ = ("comparison",)
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    comparison: _evaluation_pb2.Comparison
    def __init__(self, comparison: _Optional[_Union[_evaluation_pb2.Comparison, _Mapping]] = ...) -> None: ...

class PromotionDecided(_message.Message):
    __slots__ = ("name", "version", "alias", "promoted", "metric", "candidate_value", "incumbent_version", "incumbent_value", "reason", "evaluation_id", "comparison_id", "base_value", "base_p_value", "incumbent_p_value", "significance", "base_evaluation_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_VALUE_FIELD_NUMBER: _ClassVar[int]
    INCUMBENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    INCUMBENT_VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_VALUE_FIELD_NUMBER: _ClassVar[int]
    BASE_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    INCUMBENT_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANCE_FIELD_NUMBER: _ClassVar[int]
    BASE_EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    alias: str
    promoted: bool
    metric: str
    candidate_value: float
    incumbent_version: int
    incumbent_value: float
    reason: str
    evaluation_id: str
    comparison_id: str
    base_value: float
    base_p_value: float
    incumbent_p_value: float
    significance: float
    base_evaluation_id: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., alias: _Optional[str] = ..., promoted: bool = ..., metric: _Optional[str] = ..., candidate_value: _Optional[float] = ..., incumbent_version: _Optional[int] = ..., incumbent_value: _Optional[float] = ..., reason: _Optional[str] = ..., evaluation_id: _Optional[str] = ..., comparison_id: _Optional[str] = ..., base_value: _Optional[float] = ..., base_p_value: _Optional[float] = ..., incumbent_p_value: _Optional[float] = ..., significance: _Optional[float] = ..., base_evaluation_id: _Optional[str] = ...) -> None: ...

class RegisteredModelCreated(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _registry_pb2.RegisteredModel
    def __init__(self, model: _Optional[_Union[_registry_pb2.RegisteredModel, _Mapping]] = ...) -> None: ...

class ModelVersionChanged(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: _registry_pb2.ModelVersion
    def __init__(self, version: _Optional[_Union[_registry_pb2.ModelVersion, _Mapping]] = ...) -> None: ...

class AliasChanged(_message.Message):
    __slots__ = ("change", "version")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    change: _registry_pb2.AliasChange
    version: _registry_pb2.ModelVersion
    def __init__(self, change: _Optional[_Union[_registry_pb2.AliasChange, _Mapping]] = ..., version: _Optional[_Union[_registry_pb2.ModelVersion, _Mapping]] = ...) -> None: ...
