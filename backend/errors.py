"""Domain errors: each carries a message for the user (already translated) and an HTTP status.

Services raise them; one handler in backend.web renders them as a page, an htmx fragment or JSON.
"""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status_code = 422


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class NotAuthenticated(DomainError):
    status_code = 401


class TooLarge(DomainError):
    status_code = 413


class TooManyAttempts(DomainError):
    status_code = 429


class ServiceUnavailable(DomainError):
    status_code = 503
