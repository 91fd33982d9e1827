"""Reading a new password for ``addprinc``/``cpw`` without it ever being echoed or logged.

On a terminal the password is asked twice with ``getpass`` (MIT's prompts: ``Enter
password for principal "alice@HADOOP.COM":`` and ``Re-enter password for principal
...``). When stdin is a pipe, scripts feed it there:

- one-shot (``hadmin-local CONF addprinc alice < file``): the rest of stdin is read;
  it must hold one line, or two equal lines (what a script answering both prompts
  sends);
- at the interactive prompt fed by a pipe: the next two lines answer the two
  prompts, exactly as a person would type them, and must be equal.
"""

from __future__ import annotations

import getpass

from has_kdc.admin.errors import AdminError
from has_kdc.cli.shell import Console

__all__ = ["read_new_password"]


def _check(first: str, second: str, principal: str) -> str:
    if first != second:
        raise AdminError(f"passwords for {principal} do not match; nothing was changed")
    if not first:
        raise AdminError(f"empty password for {principal}; nothing was changed")
    return first


def read_new_password(console: Console, principal: str) -> str:
    """The new password for ``principal``, asked twice; `AdminError` if they differ."""
    enter = f'Enter password for principal "{principal}": '
    again = f'Re-enter password for principal "{principal}": '
    if console.stdin_is_tty():
        return _check(getpass.getpass(enter), getpass.getpass(again), principal)
    if console.interactive:
        first = console.read_line(enter)
        second = console.read_line(again)
        if first is None or second is None:
            raise AdminError(f"no password for {principal} on standard input")
        return _check(first, second, principal)
    lines = console.stdin.read().splitlines()
    if not lines:
        raise AdminError(
            f"no password for {principal}: give -pw PASSWORD, -randkey, or the password "
            "on standard input"
        )
    if len(lines) > 2:
        raise AdminError(
            f"standard input holds {len(lines)} lines; expected the password for "
            f"{principal} on one line (or twice, on two lines)"
        )
    return _check(lines[0], lines[-1], principal)
