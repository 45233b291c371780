"""Domain errors. The servicer maps each class to one gRPC status (servicer.STATUS_BY_ERROR)."""

from __future__ import annotations


class TrainerError(Exception):
    """Base of the worker's domain errors."""


class InvalidArgument(TrainerError):
    """The request is wrong; `field` names the offending field ("spec.lora.r")."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(TrainerError):
    """The thing asked for does not exist."""


class AlreadyExists(TrainerError):
    """A different thing already holds that id."""


class FailedPrecondition(TrainerError):
    """The request is well-formed but the state or the data does not allow it."""


class ResourceExhausted(TrainerError):
    """The worker is busy (one job or generation at a time); retry later."""


class OutOfRange(TrainerError):
    """A position past the end (e.g. WatchJob from beyond the last sequence + 1)."""


class Unavailable(TrainerError):
    """Shutting down, or a dependency is unreachable; retryable."""


class JobFailure(TrainerError):
    """A job ended with a failure of a given class (see domain.FailureClass)."""

    def __init__(self, failure_class: str, message: str, detail: str = ""):
        super().__init__(message)
        self.failure_class = failure_class
        self.message = message
        self.detail = detail
