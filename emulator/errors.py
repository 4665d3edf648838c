"""The domain's semantic errors.

The domain never speaks HTTP: it raises one of these, and the API layer maps each class
to a status code in one table (``emulator.api.faults.STATUS_BY_ERROR``).
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(EmulatorError):
    """The request is malformed or a value is out of range."""


class NotAuthenticated(EmulatorError):
    """No valid credentials: bad password, missing, expired or revoked token."""


class Forbidden(EmulatorError):
    """Authenticated, but the policy does not allow it."""


class NotFound(EmulatorError):
    """The resource does not exist, or belongs to a project the caller cannot see."""


class Conflict(EmulatorError):
    """A duplicate, or a resource in a state that refuses the operation."""


class OverQuota(EmulatorError):
    """A quota would be exceeded (Nova answers 403 for these)."""


class RateLimited(EmulatorError):
    """Too many requests; ``retry_after`` seconds until the next is allowed; ``details``
    names the limit (Nova's legacy ``RateLimitFault`` shows it)."""

    def __init__(self, message: str, retry_after: int, details: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.details = details


class NotImplementedYet(EmulatorError):
    """The backend cannot do that (a driver's ``NotImplementedError``: Nova's 501)."""


class BackendFailure(EmulatorError):
    """The hypervisor failed a call the API waits for (Nova's 500 with the error's text)."""
