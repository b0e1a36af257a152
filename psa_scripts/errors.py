"""The errors psa-scripts raises: one small hierarchy, so callers catch what they mean.

An exception that leaves a catalog script fails the task (the engine reports
"Python process execution has failed"); the message is what the user reads in
the task log, so every message names the thing at fault and what was expected.
"""


class PsaScriptError(Exception):
    """Base of every error raised on purpose by psa-scripts."""


class InputError(PsaScriptError):
    """A variable, argument, binding or file a script needs is missing or malformed.

    Raised before the script has any side effect.
    """


class RestError(PsaScriptError):
    """A REST call failed: carries the method, the URL (never a secret), status and message."""

    def __init__(self, method: str, url: str, status: "int | None", message: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        where = f"{method} {url}"
        if status is None:
            super().__init__(f"{where} failed: {message}")
        else:
            super().__init__(f"{where} failed with HTTP {status}: {message}")


class EngineError(PsaScriptError):
    """The container engine refused or failed an operation."""


class ServiceError(PsaScriptError):
    """The service itself is in a failed state (container died, action failed)."""


class StatusTimeout(ServiceError):
    """A service instance did not reach the awaited status in time (it may still get there)."""

    def __init__(self, message: str, status: "str | None") -> None:
        super().__init__(message)
        self.status = status
