"""Exit codes and the one error type the command line turns into a one-line message."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # unexpected error
    USAGE = 2  # bad flags or arguments
    CONFIG = 3  # authentication or configuration
    PROVIDER = 4  # provider or network error after retries
    STOPPED = 5  # stopped by policy, turn limit or budget
    INTERRUPTED = 130


class AppError(Exception):
    """An error the user can act on: printed as one line on stderr, never a traceback."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
