"""The one error type of the config readers: what is wrong, in which file, on which line."""

from __future__ import annotations


class ConfigError(Exception):
    """A config file that cannot be used as written.

    ``str()`` reads ``path:line: message`` (or ``path: message`` when no single line is
    at fault), the form editors and compilers use, so an operator can jump to it.
    """

    def __init__(self, message: str, source: str | None = None, line: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)
