"""hadmin-local commands for the MySQL plugin's users (TGT over HTTPS).

HAS keeps these users in a ``has_user`` table that the operator fills with SQL
(``INSERT INTO has_user VALUES ('hdfs', 'test')``: plain-text passwords, see
has-project/docs/mysql-plugin.md). has-kdc stores scrypt hashes in the realm's own
store, so the table is managed here instead:

- ``addpluginuser [-pw PASSWORD] [-disable] [-link] NAME``   (alias ``add_plugin_user``)
- ``resetpluginuser [-pw PASSWORD] NAME``            new password (``reset_plugin_user``)
- ``modpluginuser [-disable|-enable] [-link|-unlink] NAME``   (``modify_plugin_user``)
- ``delpluginuser [-force] NAME``                     (``delete_plugin_user``)
- ``listpluginusers``                                 names, state, times (``list_plugin_users``)

``-link`` lets the user log in as ``NAME@REALM`` although that principal has keys of
its own; without it such a login is refused (`has_kdc.plugins.mapping`: the whole
rule, which also never lets a plugin user become an administrator or a service).

Passwords come from ``-pw``, a twice-asked prompt on a terminal, or standard input
(one line, or the same line twice), as for addprinc; they are never printed. Every
change goes through `has_kdc.admin.PluginUserAdmin` and is one audit record.
"""

from __future__ import annotations

import argparse
import getpass
import time

from has_kdc.admin import AdminError, PluginUserAdmin, PrincipalAdmin
from has_kdc.cli.shell import Command, CommandParser, Console
from has_kdc.plugins.mysql import check_user_name
from has_kdc.plugins.passwords import DEFAULT_PARAMS, MAX_LN, ScryptParams, hash_password

__all__ = ["register_plugin_user_commands"]


def _read_password(console: Console, name: str) -> str:
    enter = f'Enter password for plugin user "{name}": '
    again = f'Re-enter password for plugin user "{name}": '
    if console.stdin_is_tty():
        first, second = getpass.getpass(enter), getpass.getpass(again)
    elif console.interactive:
        first, second = console.read_line(enter) or "", console.read_line(again) or ""
    else:
        lines = console.stdin.read().splitlines()
        if not lines or len(lines) > 2:
            raise AdminError(
                f"no password for plugin user {name}: give -pw PASSWORD or one line "
                "(or the same line twice) on standard input"
            )
        first, second = lines[0], lines[-1]
    if first != second:
        raise AdminError(f"passwords for plugin user {name} do not match; nothing was changed")
    if not first:
        raise AdminError(f"empty password for plugin user {name}; nothing was changed")
    return first


def _name(raw: str) -> str:
    try:
        return check_user_name(raw)
    except ValueError as exc:
        raise AdminError(str(exc)) from None


def _stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) if seconds else "-"


#: the lowest scrypt cost hadmin-local stores: below it a stolen hash is cheap to guess
MIN_SCRYPT_LN = 10


def _cost_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-scrypt_ln",
        type=int,
        metavar="LN",
        default=DEFAULT_PARAMS.ln,
        help=f"password hash cost: scrypt N = 2**LN, {MIN_SCRYPT_LN}..{MAX_LN} (default "
        f"{DEFAULT_PARAMS.ln}; time and memory per login in docs/logins-and-audit.md)",
    )


def _cost(options: argparse.Namespace) -> ScryptParams:
    ln = options.scrypt_ln
    if not MIN_SCRYPT_LN <= ln <= MAX_LN:
        raise AdminError(f"-scrypt_ln must be {MIN_SCRYPT_LN}..{MAX_LN}, not {ln}")
    return ScryptParams(ln=ln)


class _PluginUserCommands:
    """What each plugin user command does, over one store's plugin users."""

    def __init__(self, console: Console, users: PluginUserAdmin) -> None:
        self.console = console
        self.users = users

    def _password(self, options: argparse.Namespace, name: str) -> str:
        return str(options.pw) if options.pw is not None else _read_password(self.console, name)

    def add(self, options: argparse.Namespace) -> int:
        name = _name(options.name)
        if self.users.get(name) is not None:
            raise AdminError(f"plugin user {name} already exists (resetpluginuser changes it)")
        secret = hash_password(self._password(options, name), params=_cost(options))
        self.users.add(name, secret, disabled=options.disable, linked=options.link)
        notes = [w for w, on in (("disabled", options.disable), ("linked", options.link)) if on]
        shown = f" ({', '.join(notes)})" if notes else ""
        self.console.out(f'Plugin user "{name}" created{shown}.')
        return 0

    def reset(self, options: argparse.Namespace) -> int:
        name = _name(options.name)
        if self.users.get(name) is None:
            raise AdminError(f"plugin user {name} does not exist")
        secret = hash_password(self._password(options, name), params=_cost(options))
        self.users.set_password(name, secret)
        self.console.out(f'Password for plugin user "{name}" changed.')
        return 0

    def modify(self, options: argparse.Namespace) -> int:
        name = _name(options.name)
        if options.disable is None and options.link is None:
            self.console.commands["modpluginuser"].parser.error(
                "nothing to change: give -disable, -enable, -link or -unlink"
            )
        self.users.modify(name, disabled=options.disable, linked=options.link)
        done = []
        if options.disable is not None:
            done.append("disabled" if options.disable else "enabled")
        if options.link is not None:
            done.append("linked" if options.link else "unlinked")
        self.console.out(f'Plugin user "{name}" {" and ".join(done)}.')
        return 0

    def delete(self, options: argparse.Namespace) -> int:
        name = _name(options.name)
        if self.users.get(name) is None:
            raise AdminError(f"plugin user {name} does not exist")
        if not options.force and not self._confirmed(name):
            self.console.out(f'Plugin user "{name}" not deleted.')
            return 1
        self.users.delete(name)
        self.console.out(f'Plugin user "{name}" deleted.')
        return 0

    def _confirmed(self, name: str) -> bool:
        question = f'Are you sure you want to delete the plugin user "{name}"? (yes/no): '
        if not self.console.stdin_is_tty() and not self.console.interactive:
            self.console.out(question)
        answer = self.console.read_line(question)
        if answer is None:
            raise AdminError(f"not deleting {name}: no answer on standard input; use -force")
        return answer.strip().lower() == "yes"

    def listing(self, _options: argparse.Namespace) -> int:
        for user in self.users.list():
            state = "disabled" if user.disabled else "enabled"
            link = "\tlinked" if user.linked else ""
            self.console.out(
                f"{user.name}\t{state}\tcreated {_stamp(user.created)}\t"
                f"modified {_stamp(user.modified)}{link}"
            )
        return 0


_LINK_HELP = "may log in as NAME@REALM even if that principal has keys of its own"


def _add_parser(console: Console) -> CommandParser:
    p = console.parser("addpluginuser", "add a user of the MySQL plugin (TGT over HTTPS)")
    p.add_argument("-pw", metavar="PASSWORD", help="the password (else prompted)")
    _cost_argument(p)
    p.add_argument("-disable", action="store_true", help="create it disabled")
    p.add_argument("-link", action="store_true", help=_LINK_HELP)
    p.add_argument("name", metavar="NAME")
    return p


def _reset_parser(console: Console) -> CommandParser:
    p = console.parser("resetpluginuser", "set a new password for a MySQL plugin user")
    p.add_argument("-pw", metavar="PASSWORD", help="the new password (else prompted)")
    _cost_argument(p)
    p.add_argument("name", metavar="NAME")
    return p


def _modify_parser(console: Console) -> CommandParser:
    p = console.parser("modpluginuser", "disable/enable or link/unlink a MySQL plugin user")
    state = p.add_mutually_exclusive_group()
    state.add_argument("-disable", dest="disable", action="store_const", const=True)
    state.add_argument("-enable", dest="disable", action="store_const", const=False)
    link = p.add_mutually_exclusive_group()
    link.add_argument("-link", dest="link", action="store_const", const=True, help=_LINK_HELP)
    link.add_argument("-unlink", dest="link", action="store_const", const=False)
    p.add_argument("name", metavar="NAME")
    return p


def _delete_parser(console: Console) -> CommandParser:
    p = console.parser("delpluginuser", "delete a MySQL plugin user")
    p.add_argument("-force", action="store_true", help="do not ask for confirmation")
    p.add_argument("name", metavar="NAME")
    return p


def register_plugin_user_commands(console: Console, admin: PrincipalAdmin) -> None:
    """Add the plugin user commands to ``console`` (hadmin-local), over ``admin``'s store."""
    run = _PluginUserCommands(console, admin.plugin_users)
    for command in (
        Command("addpluginuser", _add_parser(console), run.add, ("add_plugin_user",)),
        Command("resetpluginuser", _reset_parser(console), run.reset, ("reset_plugin_user",)),
        Command("modpluginuser", _modify_parser(console), run.modify, ("modify_plugin_user",)),
        Command("delpluginuser", _delete_parser(console), run.delete, ("delete_plugin_user",)),
        Command(
            "listpluginusers",
            console.parser("listpluginusers", "list the MySQL plugin users"),
            run.listing,
            ("list_plugin_users",),
        ),
    ):
        console.add(command)
