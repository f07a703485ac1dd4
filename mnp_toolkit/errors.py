"""The one error type every layer raises for a problem the user must fix.

Its message is one line that names the file, field or resource, the problem and the fix; the ``mnp``
command prints it and exits with :attr:`UserError.exit_code` (2 unless given), never a traceback.
The lint, config and ops layers raise it (or a subclass) without knowing about the command line.
"""

from __future__ import annotations


class UserError(Exception):
    """A user-facing error: printed as one line on stderr, exit code 2 unless given."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
