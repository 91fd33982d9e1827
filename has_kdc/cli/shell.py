"""What the admin consoles share: MIT-style option parsing, one-shot and interactive use.

``kdcinit`` and ``hadmin-local`` take a command either on their own command line
(``hadmin-local CONF addprinc -pw x alice``) or, without one, at a prompt that reads
commands line by line, as HAS's ``KdcInitTool:`` and ``HadminLocalTool.local:`` do.
Both go through one `Console`: each command is a function taking its argument list,
so a command behaves the same in either mode, and an error ends only that command at
the prompt but sets the exit status on the command line.

Options are MIT's (``-pw``, ``-randkey``, ``+requires_preauth``): single dash, whole
words, and ``+`` to switch an attribute on. argparse parses them with ``prefix_chars``
``-+`` and no abbreviations; its errors raise `UsageError` instead of exiting, so a
typo at the prompt does not end the session.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, TextIO

from has_kdc.admin.errors import AdminError
from has_kdc.backend import BackendError
from has_kdc.conf.errors import ConfigError
from has_kdc.principal import PrincipalNameError

__all__ = ["Command", "CommandParser", "Console", "UsageError"]

#: Errors a user can meet: printed as one line, never with a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (
    AdminError,
    BackendError,
    ConfigError,
    PrincipalNameError,
    OSError,
    ValueError,
)


class UsageError(Exception):
    """A command line that does not parse; the message includes the usage line."""


class CommandParser(argparse.ArgumentParser):
    """argparse for MIT-style command options: raises instead of exiting."""

    def __init__(self, prog: str, description: str, **kwargs: object) -> None:
        super().__init__(
            prog=prog,
            description=description,
            prefix_chars="-+",
            allow_abbrev=False,
            add_help=False,
            **kwargs,  # type: ignore[arg-type]
        )

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\nusage: {self.format_usage().removeprefix('usage: ')}")


@dataclass
class Command:
    """One console command: its parser (for help and usage) and what it does."""

    name: str
    parser: CommandParser
    run: Callable[[argparse.Namespace], int]
    aliases: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return self.parser.description or ""


class Console:
    """A set of commands usable one-shot or at an interactive prompt."""

    def __init__(
        self,
        prog: str,
        prompt: str,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.prog = prog
        self.prompt = prompt
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.commands: dict[str, Command] = {}
        self.interactive = False

    # -- registration ---------------------------------------------------------

    def parser(self, name: str, description: str) -> CommandParser:
        return CommandParser(prog=name, description=description)

    def add(self, command: Command) -> None:
        for key in (command.name, *command.aliases):
            self.commands[key] = command

    # -- output -----------------------------------------------------------------

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def stdin_is_tty(self) -> bool:
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    # -- running ------------------------------------------------------------------

    def run_command(self, argv: list[str]) -> int:
        """Run one command; a failure prints one line on stderr and returns 1 (2: usage)."""
        if not argv:
            return 0
        name, args = argv[0], argv[1:]
        if name in ("help", "?", "cmd"):  # HAS's tools list their commands on "cmd"
            self.print_help(args[0] if args else None)
            return 0
        command = self.commands.get(name)
        if command is None:
            self.err(f"{self.prog}: unknown command {name!r}; type 'help' for the list")
            return 2
        if args[:1] in (["-h"], ["--help"], ["-help"]):
            self.out(command.parser.format_help().rstrip())
            return 0
        try:
            options = command.parser.parse_args(args)
            return command.run(options)
        except UsageError as exc:
            self.err(f"{name}: {exc}")
            return 2
        except USER_ERRORS as exc:
            self.err(f"{name}: {exc}")
            return 1
        except KeyboardInterrupt:
            self.err(f"{name}: interrupted")
            return 130

    def print_help(self, name: str | None = None) -> None:
        if name is not None and name in self.commands:
            self.out(self.commands[name].parser.format_help().rstrip())
            return
        self.out("Available commands:")
        seen: set[str] = set()
        for command in self.commands.values():
            if command.name in seen:
                continue
            seen.add(command.name)
            names = ", ".join((command.name, *command.aliases))
            self.out(f"  {names:<22} {command.summary}")
        self.out(f"  {'help [COMMAND]':<22} show this list, or one command's options")
        self.out(f"  {'exit, quit':<22} leave {self.prog}")

    def read_line(self, prompt: str, *, always_prompt: bool = False) -> str | None:
        """One line from stdin; None at end of input.

        The prompt is shown on a terminal, and with ``always_prompt`` also to a pipe:
        the command prompt is (as HAS prints it), questions in the middle of a command
        are not, so piped answers do not clutter the output.
        """
        if always_prompt or self.stdin_is_tty():
            self.stdout.write(prompt)
            self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return None
        return line.rstrip("\r\n")

    def interact(self) -> int:
        """The prompt loop; returns the status of the last command (0 after ``exit``)."""
        self.interactive = True
        status = 0
        while True:
            line = self.read_line(self.prompt + " ", always_prompt=True)
            if line is None:
                self.out()
                return status
            try:
                argv = shlex.split(line, comments=True)
            except ValueError as exc:
                self.err(f"{self.prog}: cannot parse the line: {exc}")
                status = 2
                continue
            if not argv:
                continue
            if argv[0] in ("exit", "quit", "q"):
                return 0
            status = self.run_command(argv)
