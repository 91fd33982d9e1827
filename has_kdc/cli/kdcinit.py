"""``kdcinit <conf_dir> [command ...]``: set up the realm, as HAS's ``KdcInitTool``.

``init -p DIR`` initializes the realm once (see `has_kdc.admin.realm`) and writes
``DIR/admin.keytab``; on an initialized realm it says so, changes nothing, and writes
the existing admin keys, so running it on every node (or twice) is safe and gives
every node the same file. Without a command it opens the ``KdcInitTool:`` prompt.

This version works on the identity store directly; HAS's other commands (getkrb5,
gethas, config_kdc, start ...) talk to the HAS server over HTTPS and are added to the
same command table when that server exists.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from has_kdc.admin import (
    admin_principal_name,
    init_realm,
    write_admin_keytab,
)
from has_kdc.cli.context import AdminSession, admin_session
from has_kdc.cli.shell import USER_ERRORS, Command, Console

__all__ = ["KdcInitTool", "main"]

PROMPT = "KdcInitTool:"


class KdcInitTool(Console):
    """The kdcinit commands over one conf_dir's identity store."""

    def __init__(self, session: AdminSession, **streams: TextIO) -> None:
        super().__init__("kdcinit", PROMPT, **streams)  # type: ignore[arg-type]
        self.session = session
        p = self.parser("init", "initialize the realm once and write DIR/admin.keytab")
        p.add_argument(
            "-p", dest="directory", metavar="DIR", required=True, help="where admin.keytab goes"
        )
        self.add(Command("init", p, self.init))

    def init(self, options: argparse.Namespace) -> int:
        kdc = self.session.conf.kdc
        result = init_realm(self.session.backend, kdc)
        if result.created:
            self.out(f"Realm {result.realm} initialized; created:")
            for name in result.created_principals:
                self.out(f"  {name}")
        else:
            self.out(
                f"Realm {result.realm} is already initialized (since {result.initialized_at}); "
                "nothing changed."
            )
        path = write_admin_keytab(options.directory, result.admin_principal)
        self.out(f"Wrote the keys of {admin_principal_name(kdc.kdc_realm)} to {path} (mode 0600).")
        return 0


def _main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdcinit",
        description="Initialize the HAS realm and export admin.keytab.",
        epilog="Without a command, opens the interactive prompt. Type 'help' there.",
    )
    parser.add_argument("conf_dir", help="HAS conf_dir holding kdc.conf and backend.conf")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command and its arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _main_parser().parse_args(argv)
    try:
        with admin_session(options.conf_dir) as session:
            console = KdcInitTool(session)
            if options.command:
                return console.run_command(list(options.command))
            return console.interact()
    except USER_ERRORS as exc:
        print(f"kdcinit: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kdcinit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
