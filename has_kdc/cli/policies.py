"""hadmin-local commands for password policies, with MIT kadmin's names and options:

- ``addpol [-maxlife D] [-minlife D] [-minlength N] [-minclasses N] [-history N] NAME``
  (alias ``add_policy``)
- ``modpol`` the same options (``modify_policy``)
- ``delpol [-force] NAME`` (``delete_policy``)
- ``getpol NAME`` (``get_policy``), ``listpols [GLOB]`` (``list_policies``)

``-policy NAME`` / ``-clearpolicy`` on addprinc and modprinc name a principal's
policy (`has_kdc.cli.hadmin_commands`). Every change is one audit record, through
`has_kdc.admin.policy.PolicyAdmin`.
"""

from __future__ import annotations

import argparse
import fnmatch

from has_kdc.admin import PrincipalAdmin, parse_duration
from has_kdc.admin.policy import describe_policy
from has_kdc.cli.shell import Command, CommandParser, Console

__all__ = ["register_policy_commands"]

_OPTIONS = (
    ("maxlife", "max_life", "DURATION", "maximum password life, e.g. 90d (0: never expires)"),
    ("minlife", "min_life", "DURATION", "minimum password life, e.g. 1h"),
    ("minlength", "min_length", "N", "minimum password length"),
    ("minclasses", "min_classes", "N", "minimum character classes (1 to 5)"),
    ("history", "history_num", "N", "passwords remembered, the current one included"),
)


def _policy_parser(console: Console, name: str, help_text: str) -> CommandParser:
    p = console.parser(name, help_text)
    for option, _field, metavar, text in _OPTIONS:
        p.add_argument(f"-{option}", metavar=metavar, help=text)
    p.add_argument("name", metavar="NAME")
    return p


def _numbers(options: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {}
    for option, field, _metavar, _text in _OPTIONS:
        value = getattr(options, option)
        if value is None:
            continue
        if option in ("maxlife", "minlife"):
            out[field] = parse_duration(value)
        elif value.strip().isdigit():
            out[field] = int(value)
        else:
            out[field] = value  # refused by PolicyAdmin with the setting's name
    return out


def register_policy_commands(console: Console, admin: PrincipalAdmin) -> None:
    """Add the policy commands to ``console`` (hadmin-local), over ``admin``'s store."""
    policies = admin.policies

    def addpol(options: argparse.Namespace) -> int:
        policies.add(options.name, **_numbers(options))
        return 0

    def modpol(options: argparse.Namespace) -> int:
        policies.modify(options.name, **_numbers(options))
        return 0

    def delpol(options: argparse.Namespace) -> int:
        policies.get(options.name)
        if not options.force:
            question = f'Are you sure you want to delete the policy "{options.name}"? (yes/no): '
            answer = console.read_line(question)
            if answer is None or answer.strip().lower() != "yes":
                console.out(f'Policy "{options.name}" not deleted.')
                return 1
        policies.delete(options.name)
        return 0

    def getpol(options: argparse.Namespace) -> int:
        console.out(describe_policy(policies.get(options.name)))
        return 0

    def listpols(options: argparse.Namespace) -> int:
        for policy in policies.list():
            if options.glob is None or fnmatch.fnmatchcase(policy.name, options.glob):
                console.out(policy.name)
        return 0

    console.add(
        Command(
            "addpol",
            _policy_parser(console, "addpol", "add a password policy"),
            addpol,
            ("add_policy",),
        )
    )
    console.add(
        Command(
            "modpol",
            _policy_parser(console, "modpol", "change a password policy"),
            modpol,
            ("modify_policy",),
        )
    )
    p = console.parser("delpol", "delete a password policy")
    p.add_argument("-force", action="store_true", help="do not ask for confirmation")
    p.add_argument("name", metavar="NAME")
    console.add(Command("delpol", p, delpol, ("delete_policy",)))
    p = console.parser("getpol", "show a password policy")
    p.add_argument("-terse", action="store_true", help="accepted for MIT compatibility")
    p.add_argument("name", metavar="NAME")
    console.add(Command("getpol", p, getpol, ("get_policy",)))
    p = console.parser("listpols", "list password policies, optionally matching a glob")
    p.add_argument("glob", metavar="GLOB", nargs="?")
    console.add(Command("listpols", p, listpols, ("list_policies", "getpols")))
