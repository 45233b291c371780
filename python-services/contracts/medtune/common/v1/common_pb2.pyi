from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Backend(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BACKEND_UNSPECIFIED: _ClassVar[Backend]
    BACKEND_AUTO: _ClassVar[Backend]
    BACKEND_UNSLOTH: _ClassVar[Backend]
    BACKEND_HF: _ClassVar[Backend]

class Precision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRECISION_UNSPECIFIED: _ClassVar[Precision]
    PRECISION_AUTO: _ClassVar[Precision]
    PRECISION_BF16: _ClassVar[Precision]
    PRECISION_FP16: _ClassVar[Precision]
    PRECISION_FP32: _ClassVar[Precision]

class FailureClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILURE_CLASS_UNSPECIFIED: _ClassVar[FailureClass]
    FAILURE_CLASS_USER_ERROR: _ClassVar[FailureClass]
    FAILURE_CLASS_SETUP: _ClassVar[FailureClass]
    FAILURE_CLASS_RESOURCE: _ClassVar[FailureClass]
    FAILURE_CLASS_PLATFORM: _ClassVar[FailureClass]

class ArtifactKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_KIND_UNSPECIFIED: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_ADAPTER: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_MERGED_16BIT: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_GGUF: _ClassVar[ArtifactKind]
    ARTIFACT_KIND_CHECKPOINT: _ClassVar[ArtifactKind]
BACKEND_UNSPECIFIED: Backend
BACKEND_AUTO: Backend
BACKEND_UNSLOTH: Backend
BACKEND_HF: Backend
PRECISION_UNSPECIFIED: Precision
PRECISION_AUTO: Precision
PRECISION_BF16: Precision
PRECISION_FP16: Precision
PRECISION_FP32: Precision
FAILURE_CLASS_UNSPECIFIED: FailureClass
FAILURE_CLASS_USER_ERROR: FailureClass
FAILURE_CLASS_SETUP: FailureClass
FAILURE_CLASS_RESOURCE: FailureClass
FAILURE_CLASS_PLATFORM: FailureClass
ARTIFACT_KIND_UNSPECIFIED: ArtifactKind
ARTIFACT_KIND_ADAPTER: ArtifactKind
ARTIFACT_KIND_MERGED_16BIT: ArtifactKind
ARTIFACT_KIND_GGUF: ArtifactKind
ARTIFACT_KIND_CHECKPOINT: ArtifactKind

class Failure(_message.Message):
    __slots__ = ("message", "detail")
    CLASS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    message: str
    detail: str
    def __init__(self, message: _Optional[str] = ..., detail: _Optional[str] = ..., **kwargs) -> None: ...

class LoraConfig(_message.Message):
    __slots__ = ("r", "alpha", "dropout", "bias", "target_modules", "use_rslora", "use_loftq", "random_state", "gradient_checkpointing")
    R_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    DROPOUT_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    USE_RSLORA_FIELD_NUMBER: _ClassVar[int]
    USE_LOFTQ_FIELD_NUMBER: _ClassVar[int]
    RANDOM_STATE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_CHECKPOINTING_FIELD_NUMBER: _ClassVar[int]
    r: int
    alpha: float
    dropout: float
    bias: str
    target_modules: _containers.RepeatedScalarFieldContainer[str]
    use_rslora: bool
    use_loftq: bool
    random_state: int
    gradient_checkpointing: str
    def __init__(self, r: _Optional[int] = ..., alpha: _Optional[float] = ..., dropout: _Optional[float] = ..., bias: _Optional[str] = ..., target_modules: _Optional[_Iterable[str]] = ..., use_rslora: bool = ..., use_loftq: bool = ..., random_state: _Optional[int] = ..., gradient_checkpointing: _Optional[str] = ...) -> None: ...

class Hyperparameters(_message.Message):
    __slots__ = ("batch_size", "gradient_accumulation_steps", "warmup_steps", "learning_rate", "lr_scheduler_type", "optimizer", "weight_decay", "seed", "logging_steps", "num_train_epochs", "max_steps", "max_seq_length", "precision", "load_in_4bit", "packing", "save_steps", "gpus", "plan", "global_batch_size")
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    LR_SCHEDULER_TYPE_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LOGGING_STEPS_FIELD_NUMBER: _ClassVar[int]
    NUM_TRAIN_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    LOAD_IN_4BIT_FIELD_NUMBER: _ClassVar[int]
    PACKING_FIELD_NUMBER: _ClassVar[int]
    SAVE_STEPS_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    gradient_accumulation_steps: int
    warmup_steps: int
    learning_rate: float
    lr_scheduler_type: str
    optimizer: str
    weight_decay: float
    seed: int
    logging_steps: int
    num_train_epochs: float
    max_steps: int
    max_seq_length: int
    precision: Precision
    load_in_4bit: bool
    packing: bool
    save_steps: int
    gpus: int
    plan: str
    global_batch_size: int
    def __init__(self, batch_size: _Optional[int] = ..., gradient_accumulation_steps: _Optional[int] = ..., warmup_steps: _Optional[int] = ..., learning_rate: _Optional[float] = ..., lr_scheduler_type: _Optional[str] = ..., optimizer: _Optional[str] = ..., weight_decay: _Optional[float] = ..., seed: _Optional[int] = ..., logging_steps: _Optional[int] = ..., num_train_epochs: _Optional[float] = ..., max_steps: _Optional[int] = ..., max_seq_length: _Optional[int] = ..., precision: _Optional[_Union[Precision, str]] = ..., load_in_4bit: bool = ..., packing: bool = ..., save_steps: _Optional[int] = ..., gpus: _Optional[int] = ..., plan: _Optional[str] = ..., global_batch_size: _Optional[int] = ...) -> None: ...

class ArtifactFile(_message.Message):
    __slots__ = ("path", "sha256", "size_bytes")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    path: str
    sha256: str
    size_bytes: int
    def __init__(self, path: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("kind", "uri", "sha256", "size_bytes", "files", "details")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    kind: ArtifactKind
    uri: str
    sha256: str
    size_bytes: int
    files: _containers.RepeatedCompositeFieldContainer[ArtifactFile]
    details: _containers.ScalarMap[str, str]
    def __init__(self, kind: _Optional[_Union[ArtifactKind, str]] = ..., uri: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., files: _Optional[_Iterable[_Union[ArtifactFile, _Mapping]]] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ExportOptions(_message.Message):
    __slots__ = ("adapter", "merged_16bit", "gguf", "gguf_quantization")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    MERGED_16BIT_FIELD_NUMBER: _ClassVar[int]
    GGUF_FIELD_NUMBER: _ClassVar[int]
    GGUF_QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    adapter: bool
    merged_16bit: bool
    gguf: bool
    gguf_quantization: str
    def __init__(self, adapter: bool = ..., merged_16bit: bool = ..., gguf: bool = ..., gguf_quantization: _Optional[str] = ...) -> None: ...

class GenerationParams(_message.Message):
    __slots__ = ("max_new_tokens", "temperature", "top_p", "seed")
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int
    def __init__(self, max_new_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class RegistryModelRef(_message.Message):
    __slots__ = ("name", "version", "alias", "latest")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    alias: str
    latest: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., alias: _Optional[str] = ..., latest: bool = ...) -> None: ...

class ModelRef(_message.Message):
    __slots__ = ("base_model", "registry")
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    base_model: str
    registry: RegistryModelRef
    def __init__(self, base_model: _Optional[str] = ..., registry: _Optional[_Union[RegistryModelRef, _Mapping]] = ...) -> None: ...

class PromptTemplate(_message.Message):
    __slots__ = ("name", "description", "inference_format", "train_format", "language", "builtin")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FORMAT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    inference_format: str
    train_format: str
    language: str
    builtin: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., inference_format: _Optional[str] = ..., train_format: _Optional[str] = ..., language: _Optional[str] = ..., builtin: bool = ...) -> None: ...
