from google.protobuf import timestamp_pb2 as _timestamp_pb2
from medtune.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvalSetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVAL_SET_KIND_UNSPECIFIED: _ClassVar[EvalSetKind]
    EVAL_SET_KIND_MULTIPLE_CHOICE: _ClassVar[EvalSetKind]
    EVAL_SET_KIND_FREE_FORM: _ClassVar[EvalSetKind]
    EVAL_SET_KIND_YES_NO_MAYBE: _ClassVar[EvalSetKind]

class EvalSetPreset(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVAL_SET_PRESET_UNSPECIFIED: _ClassVar[EvalSetPreset]
    EVAL_SET_PRESET_MEDQA: _ClassVar[EvalSetPreset]
    EVAL_SET_PRESET_MEDMCQA: _ClassVar[EvalSetPreset]
    EVAL_SET_PRESET_PUBMEDQA: _ClassVar[EvalSetPreset]
    EVAL_SET_PRESET_MEDICAL_O1: _ClassVar[EvalSetPreset]
    EVAL_SET_PRESET_ALPACA: _ClassVar[EvalSetPreset]
    EVAL_SET_PRESET_CHAT: _ClassVar[EvalSetPreset]

class AnswerFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANSWER_FORMAT_UNSPECIFIED: _ClassVar[AnswerFormat]
    ANSWER_FORMAT_LETTER: _ClassVar[AnswerFormat]
    ANSWER_FORMAT_INDEX_0: _ClassVar[AnswerFormat]
    ANSWER_FORMAT_INDEX_1: _ClassVar[AnswerFormat]
    ANSWER_FORMAT_TEXT: _ClassVar[AnswerFormat]

class DecodingSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECODING_SOURCE_UNSPECIFIED: _ClassVar[DecodingSource]
    DECODING_SOURCE_REQUEST: _ClassVar[DecodingSource]
    DECODING_SOURCE_EVAL_SET_GREEDY: _ClassVar[DecodingSource]
    DECODING_SOURCE_MODEL_GENERATION_CONFIG: _ClassVar[DecodingSource]

class EvaluationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVALUATION_STATUS_UNSPECIFIED: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_PENDING: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_RUNNING: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_COMPLETED: _ClassVar[EvaluationStatus]
    EVALUATION_STATUS_FAILED: _ClassVar[EvaluationStatus]
EVAL_SET_KIND_UNSPECIFIED: EvalSetKind
EVAL_SET_KIND_MULTIPLE_CHOICE: EvalSetKind
EVAL_SET_KIND_FREE_FORM: EvalSetKind
EVAL_SET_KIND_YES_NO_MAYBE: EvalSetKind
EVAL_SET_PRESET_UNSPECIFIED: EvalSetPreset
EVAL_SET_PRESET_MEDQA: EvalSetPreset
EVAL_SET_PRESET_MEDMCQA: EvalSetPreset
EVAL_SET_PRESET_PUBMEDQA: EvalSetPreset
EVAL_SET_PRESET_MEDICAL_O1: EvalSetPreset
EVAL_SET_PRESET_ALPACA: EvalSetPreset
EVAL_SET_PRESET_CHAT: EvalSetPreset
ANSWER_FORMAT_UNSPECIFIED: AnswerFormat
ANSWER_FORMAT_LETTER: AnswerFormat
ANSWER_FORMAT_INDEX_0: AnswerFormat
ANSWER_FORMAT_INDEX_1: AnswerFormat
ANSWER_FORMAT_TEXT: AnswerFormat
DECODING_SOURCE_UNSPECIFIED: DecodingSource
DECODING_SOURCE_REQUEST: DecodingSource
DECODING_SOURCE_EVAL_SET_GREEDY: DecodingSource
DECODING_SOURCE_MODEL_GENERATION_CONFIG: DecodingSource
EVALUATION_STATUS_UNSPECIFIED: EvaluationStatus
EVALUATION_STATUS_PENDING: EvaluationStatus
EVALUATION_STATUS_RUNNING: EvaluationStatus
EVALUATION_STATUS_COMPLETED: EvaluationStatus
EVALUATION_STATUS_FAILED: EvaluationStatus

class EvalSetMapping(_message.Message):
    __slots__ = ("preset", "records", "id", "question", "options", "option_columns", "answer", "answer_format", "context", "category", "nested")
    PRESET_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    OPTION_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    NESTED_FIELD_NUMBER: _ClassVar[int]
    preset: EvalSetPreset
    records: str
    id: str
    question: str
    options: str
    option_columns: _containers.RepeatedScalarFieldContainer[str]
    answer: str
    answer_format: AnswerFormat
    context: str
    category: str
    nested: str
    def __init__(self, preset: _Optional[_Union[EvalSetPreset, str]] = ..., records: _Optional[str] = ..., id: _Optional[str] = ..., question: _Optional[str] = ..., options: _Optional[str] = ..., option_columns: _Optional[_Iterable[str]] = ..., answer: _Optional[str] = ..., answer_format: _Optional[_Union[AnswerFormat, str]] = ..., context: _Optional[str] = ..., category: _Optional[str] = ..., nested: _Optional[str] = ...) -> None: ...

class EvalSet(_message.Message):
    __slots__ = ("name", "kind", "item_count", "content_sha256", "source_name", "description", "builtin", "create_time", "pin_greedy", "mapping")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PIN_GREEDY_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: EvalSetKind
    item_count: int
    content_sha256: str
    source_name: str
    description: str
    builtin: bool
    create_time: _timestamp_pb2.Timestamp
    pin_greedy: bool
    mapping: EvalSetMapping
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[EvalSetKind, str]] = ..., item_count: _Optional[int] = ..., content_sha256: _Optional[str] = ..., source_name: _Optional[str] = ..., description: _Optional[str] = ..., builtin: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., pin_greedy: bool = ..., mapping: _Optional[_Union[EvalSetMapping, _Mapping]] = ...) -> None: ...

class CreateEvalSetRequest(_message.Message):
    __slots__ = ("name", "kind", "path", "description", "limit", "mapping", "pin_greedy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    PIN_GREEDY_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: EvalSetKind
    path: str
    description: str
    limit: int
    mapping: EvalSetMapping
    pin_greedy: bool
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[EvalSetKind, str]] = ..., path: _Optional[str] = ..., description: _Optional[str] = ..., limit: _Optional[int] = ..., mapping: _Optional[_Union[EvalSetMapping, _Mapping]] = ..., pin_greedy: bool = ...) -> None: ...

class CreateEvalSetResponse(_message.Message):
    __slots__ = ("eval_set", "created")
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    eval_set: EvalSet
    created: bool
    def __init__(self, eval_set: _Optional[_Union[EvalSet, _Mapping]] = ..., created: bool = ...) -> None: ...

class GetEvalSetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetEvalSetResponse(_message.Message):
    __slots__ = ("eval_set",)
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    eval_set: EvalSet
    def __init__(self, eval_set: _Optional[_Union[EvalSet, _Mapping]] = ...) -> None: ...

class ListEvalSetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEvalSetsResponse(_message.Message):
    __slots__ = ("eval_sets",)
    EVAL_SETS_FIELD_NUMBER: _ClassVar[int]
    eval_sets: _containers.RepeatedCompositeFieldContainer[EvalSet]
    def __init__(self, eval_sets: _Optional[_Iterable[_Union[EvalSet, _Mapping]]] = ...) -> None: ...

class StartEvaluationRequest(_message.Message):
    __slots__ = ("model", "eval_set", "template_name", "generation", "eval_loss_dataset_digest", "limit", "idempotency_key", "parent_run_id", "artifact_kind")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    EVAL_LOSS_DATASET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_KIND_FIELD_NUMBER: _ClassVar[int]
    model: _common_pb2.ModelRef
    eval_set: str
    template_name: str
    generation: _common_pb2.GenerationParams
    eval_loss_dataset_digest: str
    limit: int
    idempotency_key: str
    parent_run_id: str
    artifact_kind: _common_pb2.ArtifactKind
    def __init__(self, model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., eval_set: _Optional[str] = ..., template_name: _Optional[str] = ..., generation: _Optional[_Union[_common_pb2.GenerationParams, _Mapping]] = ..., eval_loss_dataset_digest: _Optional[str] = ..., limit: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., parent_run_id: _Optional[str] = ..., artifact_kind: _Optional[_Union[_common_pb2.ArtifactKind, str]] = ...) -> None: ...

class StartEvaluationResponse(_message.Message):
    __slots__ = ("evaluation", "created")
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    evaluation: Evaluation
    created: bool
    def __init__(self, evaluation: _Optional[_Union[Evaluation, _Mapping]] = ..., created: bool = ...) -> None: ...

class Scores(_message.Message):
    __slots__ = ("items", "accuracy", "format_compliance", "completion_tokens_p50", "completion_tokens_p90", "completion_tokens_p99", "truncated_share", "eval_loss", "unparsed_answers", "accuracy_ci", "format_compliance_ci", "rouge_l", "rouge_l_ci", "token_f1", "token_f1_ci", "by_category")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_P50_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_P90_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_P99_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_SHARE_FIELD_NUMBER: _ClassVar[int]
    EVAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    UNPARSED_ANSWERS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_CI_FIELD_NUMBER: _ClassVar[int]
    FORMAT_COMPLIANCE_CI_FIELD_NUMBER: _ClassVar[int]
    ROUGE_L_FIELD_NUMBER: _ClassVar[int]
    ROUGE_L_CI_FIELD_NUMBER: _ClassVar[int]
    TOKEN_F1_FIELD_NUMBER: _ClassVar[int]
    TOKEN_F1_CI_FIELD_NUMBER: _ClassVar[int]
    BY_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    items: int
    accuracy: float
    format_compliance: float
    completion_tokens_p50: float
    completion_tokens_p90: float
    completion_tokens_p99: float
    truncated_share: float
    eval_loss: float
    unparsed_answers: int
    accuracy_ci: Interval
    format_compliance_ci: Interval
    rouge_l: float
    rouge_l_ci: Interval
    token_f1: float
    token_f1_ci: Interval
    by_category: CategoryBreakdown
    def __init__(self, items: _Optional[int] = ..., accuracy: _Optional[float] = ..., format_compliance: _Optional[float] = ..., completion_tokens_p50: _Optional[float] = ..., completion_tokens_p90: _Optional[float] = ..., completion_tokens_p99: _Optional[float] = ..., truncated_share: _Optional[float] = ..., eval_loss: _Optional[float] = ..., unparsed_answers: _Optional[int] = ..., accuracy_ci: _Optional[_Union[Interval, _Mapping]] = ..., format_compliance_ci: _Optional[_Union[Interval, _Mapping]] = ..., rouge_l: _Optional[float] = ..., rouge_l_ci: _Optional[_Union[Interval, _Mapping]] = ..., token_f1: _Optional[float] = ..., token_f1_ci: _Optional[_Union[Interval, _Mapping]] = ..., by_category: _Optional[_Union[CategoryBreakdown, _Mapping]] = ...) -> None: ...

class CategoryBreakdown(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[CategoryScores]
    def __init__(self, categories: _Optional[_Iterable[_Union[CategoryScores, _Mapping]]] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("low", "high", "method")
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    low: float
    high: float
    method: str
    def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ..., method: _Optional[str] = ...) -> None: ...

class CategoryScores(_message.Message):
    __slots__ = ("category", "items", "accuracy", "accuracy_ci", "format_compliance", "format_compliance_ci", "rouge_l", "token_f1")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_CI_FIELD_NUMBER: _ClassVar[int]
    FORMAT_COMPLIANCE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_COMPLIANCE_CI_FIELD_NUMBER: _ClassVar[int]
    ROUGE_L_FIELD_NUMBER: _ClassVar[int]
    TOKEN_F1_FIELD_NUMBER: _ClassVar[int]
    category: str
    items: int
    accuracy: float
    accuracy_ci: Interval
    format_compliance: float
    format_compliance_ci: Interval
    rouge_l: float
    token_f1: float
    def __init__(self, category: _Optional[str] = ..., items: _Optional[int] = ..., accuracy: _Optional[float] = ..., accuracy_ci: _Optional[_Union[Interval, _Mapping]] = ..., format_compliance: _Optional[float] = ..., format_compliance_ci: _Optional[_Union[Interval, _Mapping]] = ..., rouge_l: _Optional[float] = ..., token_f1: _Optional[float] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("evaluation_id", "model", "base_model", "adapter_uri", "registry_name", "registry_version", "eval_set", "template_name", "generation", "status", "items_done", "items_total", "scores", "failure", "tracking_run_id", "worker_id", "create_time", "end_time", "eval_loss_dataset_digest", "decoding_source", "greedy", "artifact_kind", "artifact_uri")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_URI_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_NAME_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_DONE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    TRACKING_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EVAL_LOSS_DATASET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    DECODING_SOURCE_FIELD_NUMBER: _ClassVar[int]
    GREEDY_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_KIND_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_URI_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    model: _common_pb2.ModelRef
    base_model: str
    adapter_uri: str
    registry_name: str
    registry_version: int
    eval_set: str
    template_name: str
    generation: _common_pb2.GenerationParams
    status: EvaluationStatus
    items_done: int
    items_total: int
    scores: Scores
    failure: _common_pb2.Failure
    tracking_run_id: str
    worker_id: str
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    eval_loss_dataset_digest: str
    decoding_source: DecodingSource
    greedy: bool
    artifact_kind: _common_pb2.ArtifactKind
    artifact_uri: str
    def __init__(self, evaluation_id: _Optional[str] = ..., model: _Optional[_Union[_common_pb2.ModelRef, _Mapping]] = ..., base_model: _Optional[str] = ..., adapter_uri: _Optional[str] = ..., registry_name: _Optional[str] = ..., registry_version: _Optional[int] = ..., eval_set: _Optional[str] = ..., template_name: _Optional[str] = ..., generation: _Optional[_Union[_common_pb2.GenerationParams, _Mapping]] = ..., status: _Optional[_Union[EvaluationStatus, str]] = ..., items_done: _Optional[int] = ..., items_total: _Optional[int] = ..., scores: _Optional[_Union[Scores, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., tracking_run_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., eval_loss_dataset_digest: _Optional[str] = ..., decoding_source: _Optional[_Union[DecodingSource, str]] = ..., greedy: bool = ..., artifact_kind: _Optional[_Union[_common_pb2.ArtifactKind, str]] = ..., artifact_uri: _Optional[str] = ...) -> None: ...

class GetEvaluationRequest(_message.Message):
    __slots__ = ("evaluation_id",)
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    def __init__(self, evaluation_id: _Optional[str] = ...) -> None: ...

class GetEvaluationResponse(_message.Message):
    __slots__ = ("evaluation",)
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    evaluation: Evaluation
    def __init__(self, evaluation: _Optional[_Union[Evaluation, _Mapping]] = ...) -> None: ...

class ListEvaluationsRequest(_message.Message):
    __slots__ = ("registry_name", "eval_set", "page_size", "page_token")
    REGISTRY_NAME_FIELD_NUMBER: _ClassVar[int]
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    registry_name: str
    eval_set: str
    page_size: int
    page_token: str
    def __init__(self, registry_name: _Optional[str] = ..., eval_set: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEvaluationsResponse(_message.Message):
    __slots__ = ("evaluations", "next_page_token")
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    evaluations: _containers.RepeatedCompositeFieldContainer[Evaluation]
    next_page_token: str
    def __init__(self, evaluations: _Optional[_Iterable[_Union[Evaluation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchEvaluationRequest(_message.Message):
    __slots__ = ("evaluation_id",)
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    def __init__(self, evaluation_id: _Optional[str] = ...) -> None: ...

class WatchEvaluationResponse(_message.Message):
    __slots__ = ("evaluation",)
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    evaluation: Evaluation
    def __init__(self, evaluation: _Optional[_Union[Evaluation, _Mapping]] = ...) -> None: ...

class ItemResult(_message.Message):
    __slots__ = ("index", "question", "prompt", "output", "answer_text", "predicted", "expected", "correct", "format_ok", "prompt_tokens", "completion_tokens", "finish_reason", "item_id", "category", "rouge_l", "token_f1")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ANSWER_TEXT_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_OK_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ROUGE_L_FIELD_NUMBER: _ClassVar[int]
    TOKEN_F1_FIELD_NUMBER: _ClassVar[int]
    index: int
    question: str
    prompt: str
    output: str
    answer_text: str
    predicted: str
    expected: str
    correct: bool
    format_ok: bool
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    item_id: str
    category: str
    rouge_l: float
    token_f1: float
    def __init__(self, index: _Optional[int] = ..., question: _Optional[str] = ..., prompt: _Optional[str] = ..., output: _Optional[str] = ..., answer_text: _Optional[str] = ..., predicted: _Optional[str] = ..., expected: _Optional[str] = ..., correct: bool = ..., format_ok: bool = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., finish_reason: _Optional[str] = ..., item_id: _Optional[str] = ..., category: _Optional[str] = ..., rouge_l: _Optional[float] = ..., token_f1: _Optional[float] = ...) -> None: ...

class ListItemResultsRequest(_message.Message):
    __slots__ = ("evaluation_id", "page_size", "page_token")
    EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    evaluation_id: str
    page_size: int
    page_token: str
    def __init__(self, evaluation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListItemResultsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ItemResult]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[ItemResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CompareEvaluationsRequest(_message.Message):
    __slots__ = ("baseline_evaluation_id", "candidate_evaluation_id")
    BASELINE_EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    baseline_evaluation_id: str
    candidate_evaluation_id: str
    def __init__(self, baseline_evaluation_id: _Optional[str] = ..., candidate_evaluation_id: _Optional[str] = ...) -> None: ...

class PairedItem(_message.Message):
    __slots__ = ("index", "question", "baseline_output", "candidate_output", "baseline_correct", "candidate_correct", "baseline_format_ok", "candidate_format_ok")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    BASELINE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_CORRECT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_CORRECT_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FORMAT_OK_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FORMAT_OK_FIELD_NUMBER: _ClassVar[int]
    index: int
    question: str
    baseline_output: str
    candidate_output: str
    baseline_correct: bool
    candidate_correct: bool
    baseline_format_ok: bool
    candidate_format_ok: bool
    def __init__(self, index: _Optional[int] = ..., question: _Optional[str] = ..., baseline_output: _Optional[str] = ..., candidate_output: _Optional[str] = ..., baseline_correct: bool = ..., candidate_correct: bool = ..., baseline_format_ok: bool = ..., candidate_format_ok: bool = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("comparison_id", "baseline_evaluation_id", "candidate_evaluation_id", "eval_set", "items", "baseline", "candidate", "deltas", "gained", "lost", "mcnemar_p_value", "examples", "registry_name", "registry_version", "create_time", "format_mcnemar_p_value", "format_gained", "format_lost", "baseline_artifact_kind", "candidate_artifact_kind")
    class DeltasEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    COMPARISON_ID_FIELD_NUMBER: _ClassVar[int]
    BASELINE_EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_EVALUATION_ID_FIELD_NUMBER: _ClassVar[int]
    EVAL_SET_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    DELTAS_FIELD_NUMBER: _ClassVar[int]
    GAINED_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    MCNEMAR_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_NAME_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_MCNEMAR_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_GAINED_FIELD_NUMBER: _ClassVar[int]
    FORMAT_LOST_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ARTIFACT_KIND_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ARTIFACT_KIND_FIELD_NUMBER: _ClassVar[int]
    comparison_id: str
    baseline_evaluation_id: str
    candidate_evaluation_id: str
    eval_set: str
    items: int
    baseline: Scores
    candidate: Scores
    deltas: _containers.ScalarMap[str, float]
    gained: int
    lost: int
    mcnemar_p_value: float
    examples: _containers.RepeatedCompositeFieldContainer[PairedItem]
    registry_name: str
    registry_version: int
    create_time: _timestamp_pb2.Timestamp
    format_mcnemar_p_value: float
    format_gained: int
    format_lost: int
    baseline_artifact_kind: _common_pb2.ArtifactKind
    candidate_artifact_kind: _common_pb2.ArtifactKind
    def __init__(self, comparison_id: _Optional[str] = ..., baseline_evaluation_id: _Optional[str] = ..., candidate_evaluation_id: _Optional[str] = ..., eval_set: _Optional[str] = ..., items: _Optional[int] = ..., baseline: _Optional[_Union[Scores, _Mapping]] = ..., candidate: _Optional[_Union[Scores, _Mapping]] = ..., deltas: _Optional[_Mapping[str, float]] = ..., gained: _Optional[int] = ..., lost: _Optional[int] = ..., mcnemar_p_value: _Optional[float] = ..., examples: _Optional[_Iterable[_Union[PairedItem, _Mapping]]] = ..., registry_name: _Optional[str] = ..., registry_version: _Optional[int] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., format_mcnemar_p_value: _Optional[float] = ..., format_gained: _Optional[int] = ..., format_lost: _Optional[int] = ..., baseline_artifact_kind: _Optional[_Union[_common_pb2.ArtifactKind, str]] = ..., candidate_artifact_kind: _Optional[_Union[_common_pb2.ArtifactKind, str]] = ...) -> None: ...

class CompareEvaluationsResponse(_message.Message):
    __slots__ = ("comparison",)
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    comparison: Comparison
    def __init__(self, comparison: _Optional[_Union[Comparison, _Mapping]] = ...) -> None: ...

class GetComparisonRequest(_message.Message):
    __slots__ = ("comparison_id",)
    COMPARISON_ID_FIELD_NUMBER: _ClassVar[int]
    comparison_id: str
    def __init__(self, comparison_id: _Optional[str] = ...) -> None: ...

class GetComparisonResponse(_message.Message):
    __slots__ = ("comparison",)
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    comparison: Comparison
    def __init__(self, comparison: _Optional[_Union[Comparison, _Mapping]] = ...) -> None: ...

class ListComparisonsRequest(_message.Message):
    __slots__ = ("registry_name", "page_size", "page_token")
    REGISTRY_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    registry_name: str
    page_size: int
    page_token: str
    def __init__(self, registry_name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListComparisonsResponse(_message.Message):
    __slots__ = ("comparisons", "next_page_token")
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    comparisons: _containers.RepeatedCompositeFieldContainer[Comparison]
    next_page_token: str
    def __init__(self, comparisons: _Optional[_Iterable[_Union[Comparison, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
