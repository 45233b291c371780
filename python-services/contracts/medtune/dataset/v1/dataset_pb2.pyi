from google.protobuf import timestamp_pb2 as _timestamp_pb2
from medtune.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FileFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_FORMAT_UNSPECIFIED: _ClassVar[FileFormat]
    FILE_FORMAT_JSON_ARRAY: _ClassVar[FileFormat]
    FILE_FORMAT_JSONL: _ClassVar[FileFormat]

class MappingPreset(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAPPING_PRESET_UNSPECIFIED: _ClassVar[MappingPreset]
    MAPPING_PRESET_MEDICAL_O1: _ClassVar[MappingPreset]
    MAPPING_PRESET_ALPACA: _ClassVar[MappingPreset]
    MAPPING_PRESET_CHAT: _ClassVar[MappingPreset]

class InvalidRowPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVALID_ROW_POLICY_UNSPECIFIED: _ClassVar[InvalidRowPolicy]
    INVALID_ROW_POLICY_REJECT: _ClassVar[InvalidRowPolicy]
    INVALID_ROW_POLICY_SKIP_INVALID: _ClassVar[InvalidRowPolicy]

class DuplicatePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DUPLICATE_POLICY_UNSPECIFIED: _ClassVar[DuplicatePolicy]
    DUPLICATE_POLICY_DROP_AND_REPORT: _ClassVar[DuplicatePolicy]
    DUPLICATE_POLICY_KEEP_AND_REPORT: _ClassVar[DuplicatePolicy]

class RowIssueCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROW_ISSUE_CODE_UNSPECIFIED: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_MISSING: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_WRONG_TYPE: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_EMPTY: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_INVALID_UTF8: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_OVER_TOKEN_LIMIT: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_DUPLICATE: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_MALFORMED_JSON: _ClassVar[RowIssueCode]
    ROW_ISSUE_CODE_TOO_LARGE: _ClassVar[RowIssueCode]

class VersionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_STATE_UNSPECIFIED: _ClassVar[VersionState]
    VERSION_STATE_IMPORTING: _ClassVar[VersionState]
    VERSION_STATE_READY: _ClassVar[VersionState]

class Split(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_UNSPECIFIED: _ClassVar[Split]
    SPLIT_TRAIN: _ClassVar[Split]
    SPLIT_EVAL: _ClassVar[Split]
    SPLIT_ALL: _ClassVar[Split]
FILE_FORMAT_UNSPECIFIED: FileFormat
FILE_FORMAT_JSON_ARRAY: FileFormat
FILE_FORMAT_JSONL: FileFormat
MAPPING_PRESET_UNSPECIFIED: MappingPreset
MAPPING_PRESET_MEDICAL_O1: MappingPreset
MAPPING_PRESET_ALPACA: MappingPreset
MAPPING_PRESET_CHAT: MappingPreset
INVALID_ROW_POLICY_UNSPECIFIED: InvalidRowPolicy
INVALID_ROW_POLICY_REJECT: InvalidRowPolicy
INVALID_ROW_POLICY_SKIP_INVALID: InvalidRowPolicy
DUPLICATE_POLICY_UNSPECIFIED: DuplicatePolicy
DUPLICATE_POLICY_DROP_AND_REPORT: DuplicatePolicy
DUPLICATE_POLICY_KEEP_AND_REPORT: DuplicatePolicy
ROW_ISSUE_CODE_UNSPECIFIED: RowIssueCode
ROW_ISSUE_CODE_MISSING: RowIssueCode
ROW_ISSUE_CODE_WRONG_TYPE: RowIssueCode
ROW_ISSUE_CODE_EMPTY: RowIssueCode
ROW_ISSUE_CODE_INVALID_UTF8: RowIssueCode
ROW_ISSUE_CODE_OVER_TOKEN_LIMIT: RowIssueCode
ROW_ISSUE_CODE_DUPLICATE: RowIssueCode
ROW_ISSUE_CODE_MALFORMED_JSON: RowIssueCode
ROW_ISSUE_CODE_TOO_LARGE: RowIssueCode
VERSION_STATE_UNSPECIFIED: VersionState
VERSION_STATE_IMPORTING: VersionState
VERSION_STATE_READY: VersionState
SPLIT_UNSPECIFIED: Split
SPLIT_TRAIN: Split
SPLIT_EVAL: Split
SPLIT_ALL: Split

class ColumnMapping(_message.Message):
    __slots__ = ("preset", "question", "cot", "response", "allow_empty_cot")
    PRESET_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    COT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_EMPTY_COT_FIELD_NUMBER: _ClassVar[int]
    preset: MappingPreset
    question: str
    cot: str
    response: str
    allow_empty_cot: bool
    def __init__(self, preset: _Optional[_Union[MappingPreset, str]] = ..., question: _Optional[str] = ..., cot: _Optional[str] = ..., response: _Optional[str] = ..., allow_empty_cot: bool = ...) -> None: ...

class ImportOptions(_message.Message):
    __slots__ = ("dataset_name", "format", "mapping", "template_name", "tokenizer_dir", "max_seq_length", "eval_ratio", "split_seed", "invalid_row_policy", "duplicate_policy", "reject_over_length", "labels", "source_name")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_DIR_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    EVAL_RATIO_FIELD_NUMBER: _ClassVar[int]
    SPLIT_SEED_FIELD_NUMBER: _ClassVar[int]
    INVALID_ROW_POLICY_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_POLICY_FIELD_NUMBER: _ClassVar[int]
    REJECT_OVER_LENGTH_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    format: FileFormat
    mapping: ColumnMapping
    template_name: str
    tokenizer_dir: str
    max_seq_length: int
    eval_ratio: float
    split_seed: int
    invalid_row_policy: InvalidRowPolicy
    duplicate_policy: DuplicatePolicy
    reject_over_length: bool
    labels: _containers.ScalarMap[str, str]
    source_name: str
    def __init__(self, dataset_name: _Optional[str] = ..., format: _Optional[_Union[FileFormat, str]] = ..., mapping: _Optional[_Union[ColumnMapping, _Mapping]] = ..., template_name: _Optional[str] = ..., tokenizer_dir: _Optional[str] = ..., max_seq_length: _Optional[int] = ..., eval_ratio: _Optional[float] = ..., split_seed: _Optional[int] = ..., invalid_row_policy: _Optional[_Union[InvalidRowPolicy, str]] = ..., duplicate_policy: _Optional[_Union[DuplicatePolicy, str]] = ..., reject_over_length: bool = ..., labels: _Optional[_Mapping[str, str]] = ..., source_name: _Optional[str] = ...) -> None: ...

class ImportDatasetRequest(_message.Message):
    __slots__ = ("path", "options")
    PATH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    path: str
    options: ImportOptions
    def __init__(self, path: _Optional[str] = ..., options: _Optional[_Union[ImportOptions, _Mapping]] = ...) -> None: ...

class ImportDatasetResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: ImportProgress
    result: ImportResult
    def __init__(self, progress: _Optional[_Union[ImportProgress, _Mapping]] = ..., result: _Optional[_Union[ImportResult, _Mapping]] = ...) -> None: ...

class ImportProgress(_message.Message):
    __slots__ = ("phase", "rows_read", "bytes_read", "total_bytes")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ROWS_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    phase: str
    rows_read: int
    bytes_read: int
    total_bytes: int
    def __init__(self, phase: _Optional[str] = ..., rows_read: _Optional[int] = ..., bytes_read: _Optional[int] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class ImportResult(_message.Message):
    __slots__ = ("version", "created", "report", "existing_dataset_name", "name_added")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    EXISTING_DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_ADDED_FIELD_NUMBER: _ClassVar[int]
    version: DatasetVersion
    created: bool
    report: ValidationSummary
    existing_dataset_name: str
    name_added: bool
    def __init__(self, version: _Optional[_Union[DatasetVersion, _Mapping]] = ..., created: bool = ..., report: _Optional[_Union[ValidationSummary, _Mapping]] = ..., existing_dataset_name: _Optional[str] = ..., name_added: bool = ...) -> None: ...

class UploadDatasetRequest(_message.Message):
    __slots__ = ("options", "chunk")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    options: ImportOptions
    chunk: bytes
    def __init__(self, options: _Optional[_Union[ImportOptions, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadDatasetResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: ImportResult
    def __init__(self, result: _Optional[_Union[ImportResult, _Mapping]] = ...) -> None: ...

class RowIssue(_message.Message):
    __slots__ = ("row", "column", "code", "message", "fatal", "duplicate_of_row")
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FATAL_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_ROW_FIELD_NUMBER: _ClassVar[int]
    row: int
    column: str
    code: RowIssueCode
    message: str
    fatal: bool
    duplicate_of_row: int
    def __init__(self, row: _Optional[int] = ..., column: _Optional[str] = ..., code: _Optional[_Union[RowIssueCode, str]] = ..., message: _Optional[str] = ..., fatal: bool = ..., duplicate_of_row: _Optional[int] = ...) -> None: ...

class ValidationSummary(_message.Message):
    __slots__ = ("report_id", "rows_total", "rows_valid", "rows_invalid", "rows_duplicate", "rows_over_limit", "issues_by_code", "first_issues", "rejected", "rejection_reason")
    class IssuesByCodeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ROWS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ROWS_VALID_FIELD_NUMBER: _ClassVar[int]
    ROWS_INVALID_FIELD_NUMBER: _ClassVar[int]
    ROWS_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    ROWS_OVER_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ISSUES_BY_CODE_FIELD_NUMBER: _ClassVar[int]
    FIRST_ISSUES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    rows_total: int
    rows_valid: int
    rows_invalid: int
    rows_duplicate: int
    rows_over_limit: int
    issues_by_code: _containers.ScalarMap[str, int]
    first_issues: _containers.RepeatedCompositeFieldContainer[RowIssue]
    rejected: bool
    rejection_reason: str
    def __init__(self, report_id: _Optional[str] = ..., rows_total: _Optional[int] = ..., rows_valid: _Optional[int] = ..., rows_invalid: _Optional[int] = ..., rows_duplicate: _Optional[int] = ..., rows_over_limit: _Optional[int] = ..., issues_by_code: _Optional[_Mapping[str, int]] = ..., first_issues: _Optional[_Iterable[_Union[RowIssue, _Mapping]]] = ..., rejected: bool = ..., rejection_reason: _Optional[str] = ...) -> None: ...

class TokenStats(_message.Message):
    __slots__ = ("rows", "total_tokens", "mean", "p50", "p90", "p99", "max", "min", "rows_over_max_seq_length", "max_seq_length")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P90_FIELD_NUMBER: _ClassVar[int]
    P99_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    ROWS_OVER_MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    rows: int
    total_tokens: int
    mean: float
    p50: int
    p90: int
    p99: int
    max: int
    min: int
    rows_over_max_seq_length: int
    max_seq_length: int
    def __init__(self, rows: _Optional[int] = ..., total_tokens: _Optional[int] = ..., mean: _Optional[float] = ..., p50: _Optional[int] = ..., p90: _Optional[int] = ..., p99: _Optional[int] = ..., max: _Optional[int] = ..., min: _Optional[int] = ..., rows_over_max_seq_length: _Optional[int] = ..., max_seq_length: _Optional[int] = ...) -> None: ...

class Lineage(_message.Message):
    __slots__ = ("source_name", "source_size_bytes", "source_sha256", "mapping", "template", "tokenizer_dir", "tokenizer_fingerprint", "eos_token")
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_DIR_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    EOS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    source_name: str
    source_size_bytes: int
    source_sha256: str
    mapping: ColumnMapping
    template: _common_pb2.PromptTemplate
    tokenizer_dir: str
    tokenizer_fingerprint: str
    eos_token: str
    def __init__(self, source_name: _Optional[str] = ..., source_size_bytes: _Optional[int] = ..., source_sha256: _Optional[str] = ..., mapping: _Optional[_Union[ColumnMapping, _Mapping]] = ..., template: _Optional[_Union[_common_pb2.PromptTemplate, _Mapping]] = ..., tokenizer_dir: _Optional[str] = ..., tokenizer_fingerprint: _Optional[str] = ..., eos_token: _Optional[str] = ...) -> None: ...

class DatasetVersion(_message.Message):
    __slots__ = ("digest", "dataset_name", "state", "row_count", "train_rows", "eval_rows", "token_stats", "lineage", "report", "eval_ratio", "split_seed", "max_seq_length", "labels", "create_time", "other_names")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ROWS_FIELD_NUMBER: _ClassVar[int]
    EVAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_STATS_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    EVAL_RATIO_FIELD_NUMBER: _ClassVar[int]
    SPLIT_SEED_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    OTHER_NAMES_FIELD_NUMBER: _ClassVar[int]
    digest: str
    dataset_name: str
    state: VersionState
    row_count: int
    train_rows: int
    eval_rows: int
    token_stats: TokenStats
    lineage: Lineage
    report: ValidationSummary
    eval_ratio: float
    split_seed: int
    max_seq_length: int
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    other_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, digest: _Optional[str] = ..., dataset_name: _Optional[str] = ..., state: _Optional[_Union[VersionState, str]] = ..., row_count: _Optional[int] = ..., train_rows: _Optional[int] = ..., eval_rows: _Optional[int] = ..., token_stats: _Optional[_Union[TokenStats, _Mapping]] = ..., lineage: _Optional[_Union[Lineage, _Mapping]] = ..., report: _Optional[_Union[ValidationSummary, _Mapping]] = ..., eval_ratio: _Optional[float] = ..., split_seed: _Optional[int] = ..., max_seq_length: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., other_names: _Optional[_Iterable[str]] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ("name", "latest_digest", "version_count", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LATEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    latest_digest: str
    version_count: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., latest_digest: _Optional[str] = ..., version_count: _Optional[int] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: Dataset
    def __init__(self, dataset: _Optional[_Union[Dataset, _Mapping]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "next_page_token")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    next_page_token: str
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: str
    def __init__(self, digest: _Optional[str] = ...) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("version", "in_use")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IN_USE_FIELD_NUMBER: _ClassVar[int]
    version: DatasetVersion
    in_use: bool
    def __init__(self, version: _Optional[_Union[DatasetVersion, _Mapping]] = ..., in_use: bool = ...) -> None: ...

class ListVersionsRequest(_message.Message):
    __slots__ = ("dataset_name", "page_size", "page_token")
    DATASET_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dataset_name: str
    page_size: int
    page_token: str
    def __init__(self, dataset_name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[DatasetVersion]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[DatasetVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteVersionRequest(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: str
    def __init__(self, digest: _Optional[str] = ...) -> None: ...

class DeleteVersionResponse(_message.Message):
    __slots__ = ("digest",)
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    digest: str
    def __init__(self, digest: _Optional[str] = ...) -> None: ...

class GetValidationReportRequest(_message.Message):
    __slots__ = ("report_id", "fatal_only", "page_size", "page_token")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    FATAL_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    fatal_only: bool
    page_size: int
    page_token: str
    def __init__(self, report_id: _Optional[str] = ..., fatal_only: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetValidationReportResponse(_message.Message):
    __slots__ = ("summary", "issues", "next_page_token")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    summary: ValidationSummary
    issues: _containers.RepeatedCompositeFieldContainer[RowIssue]
    next_page_token: str
    def __init__(self, summary: _Optional[_Union[ValidationSummary, _Mapping]] = ..., issues: _Optional[_Iterable[_Union[RowIssue, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PreviewFormattedRequest(_message.Message):
    __slots__ = ("digest", "path", "mapping", "template_name", "tokenizer_dir", "offset", "limit")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_DIR_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    digest: str
    path: str
    mapping: ColumnMapping
    template_name: str
    tokenizer_dir: str
    offset: int
    limit: int
    def __init__(self, digest: _Optional[str] = ..., path: _Optional[str] = ..., mapping: _Optional[_Union[ColumnMapping, _Mapping]] = ..., template_name: _Optional[str] = ..., tokenizer_dir: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class FormattedRow(_message.Message):
    __slots__ = ("index", "prompt", "text", "token_count")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    index: int
    prompt: str
    text: str
    token_count: int
    def __init__(self, index: _Optional[int] = ..., prompt: _Optional[str] = ..., text: _Optional[str] = ..., token_count: _Optional[int] = ...) -> None: ...

class PreviewFormattedResponse(_message.Message):
    __slots__ = ("rows", "template")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[FormattedRow]
    template: _common_pb2.PromptTemplate
    def __init__(self, rows: _Optional[_Iterable[_Union[FormattedRow, _Mapping]]] = ..., template: _Optional[_Union[_common_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class StreamRowsRequest(_message.Message):
    __slots__ = ("digest", "split", "offset", "limit")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    digest: str
    split: Split
    offset: int
    limit: int
    def __init__(self, digest: _Optional[str] = ..., split: _Optional[_Union[Split, str]] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class Row(_message.Message):
    __slots__ = ("index", "text", "prompt", "question", "cot", "response", "token_count", "metadata_json", "source_row")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    COT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ROW_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    prompt: str
    question: str
    cot: str
    response: str
    token_count: int
    metadata_json: str
    source_row: int
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ..., prompt: _Optional[str] = ..., question: _Optional[str] = ..., cot: _Optional[str] = ..., response: _Optional[str] = ..., token_count: _Optional[int] = ..., metadata_json: _Optional[str] = ..., source_row: _Optional[int] = ...) -> None: ...

class StreamRowsResponse(_message.Message):
    __slots__ = ("row",)
    ROW_FIELD_NUMBER: _ClassVar[int]
    row: Row
    def __init__(self, row: _Optional[_Union[Row, _Mapping]] = ...) -> None: ...

class RegisterTemplateRequest(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: _common_pb2.PromptTemplate
    def __init__(self, template: _Optional[_Union[_common_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class RegisterTemplateResponse(_message.Message):
    __slots__ = ("template", "created")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    template: _common_pb2.PromptTemplate
    created: bool
    def __init__(self, template: _Optional[_Union[_common_pb2.PromptTemplate, _Mapping]] = ..., created: bool = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: _common_pb2.PromptTemplate
    def __init__(self, template: _Optional[_Union[_common_pb2.PromptTemplate, _Mapping]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[_common_pb2.PromptTemplate]
    def __init__(self, templates: _Optional[_Iterable[_Union[_common_pb2.PromptTemplate, _Mapping]]] = ...) -> None: ...
