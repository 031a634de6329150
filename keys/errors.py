"""The one error type services raise: a KMS error code (the wire's __type) and its message."""

from __future__ import annotations

# Faults of the service itself; every other code is the client's (HTTP 400, Clone choice in spec 3.2).
SERVER_FAULTS = frozenset({"KMSInternalException", "KeyUnavailableException", "DependencyTimeoutException"})


class KmsError(Exception):
    """A refusal in AWS's words: `code` is the error type, `message` its text."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return 500 if self.code in SERVER_FAULTS else 400


def validation(message: str) -> KmsError:
    return KmsError("ValidationException", message)


def not_found(message: str) -> KmsError:
    return KmsError("NotFoundException", message)
