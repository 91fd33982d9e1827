"""The hadmin command line, defined once for ``hadmin-local`` and ``hadmin-remote``.

HAS gives both tools the same commands with the same MIT options; only what a
command does differs (the identity store directly, or the nodes' admin API). So the
argument specs, the attribute options' meaning, the password rules, the delete
question and the ``ktadd`` report live here, and each tool supplies the function
behind each command: a console method of the command's name.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence

from has_kdc.admin import AdminError
from has_kdc.cli.passwords import read_new_password
from has_kdc.cli.shell import CommandParser, Console
from has_kdc.conf.errors import ConfigError
from has_kdc.conf.profile import Relation
from has_kdc.conf.values import parse_enctypes

__all__ = [
    "AUDIT_FILTERS",
    "PRINCIPAL_COMMANDS",
    "SWITCHES",
    "add_lifetimes",
    "add_policy",
    "add_switches",
    "attribute_options",
    "audit_line",
    "audit_parser",
    "confirm_delete",
    "keytab_entry_line",
    "new_password",
    "purged_line",
    "register_principal_commands",
]

#: modprinc/addprinc switches (``+word`` sets, ``-word`` clears): principal attributes.
SWITCHES = (
    "requires_preauth",
    "allow_forwardable",
    "allow_proxiable",
    "allow_renewable",
    "allow_tix",
    "allow_svr",
)

#: The principal commands both tools have, with HAS's and MIT's other names for them.
PRINCIPAL_COMMANDS: dict[str, tuple[str, ...]] = {
    "addprinc": ("add_principal", "ank"),
    "delprinc": ("delete_principal",),
    "renprinc": ("rename_principal",),
    "getprinc": ("get_principal",),
    "listprincs": ("list_principals", "getprincs"),
    "cpw": ("change_password",),
    "purgekeys": ("purge_keys",),
    "modprinc": ("modify_principal",),
    "ktadd": ("xst",),
    "hostroles": ("get_hostroles",),
    "creprincs": ("create_principals",),
    "expkeytabs": ("export_keytabs",),
}


def add_switches(parser: CommandParser, names: Sequence[str] = SWITCHES) -> None:
    for word in names:
        parser.add_argument(
            f"+{word}", dest=word, action="store_const", const=True, help=f"set {word}"
        )
        parser.add_argument(
            f"-{word}", dest=word, action="store_const", const=False, help=f"clear {word}"
        )


def add_lifetimes(parser: CommandParser, *, pwexpire: bool) -> None:
    parser.add_argument("-maxlife", metavar="DURATION", help="maximum ticket life, e.g. 10h")
    parser.add_argument("-maxrenewlife", metavar="DURATION", help="maximum renewable life, e.g. 7d")
    parser.add_argument("-expire", metavar="TIME", help="expiration: 2027-01-01, or never")
    if pwexpire:
        parser.add_argument("-pwexpire", metavar="TIME", help="password expiration, or never")


def add_policy(parser: CommandParser) -> None:
    """``-policy NAME`` / ``-clearpolicy``: the principal's password policy (MIT's options)."""
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("-policy", metavar="POLICY", help="the password policy")
    choice.add_argument("-clearpolicy", action="store_true", help="no password policy")


def enctype_list(text: str) -> tuple[int, ...]:
    """``-e``'s value as MIT writes it (``aes256-cts-hmac-sha1-96:normal,aes128-cts``)."""
    try:
        return parse_enctypes(Relation("-e", text, 0, "the command line"))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_enctypes(parser: CommandParser) -> None:
    parser.add_argument(
        "-e",
        dest="enctypes",
        type=enctype_list,
        metavar="ENCTYPES",
        help="the keys' enctypes (MIT's enctype:salt list; default: supported_enctypes)",
    )


def _parsers(console: Console) -> dict[str, CommandParser]:
    """The argument specs of ``PRINCIPAL_COMMANDS``, by command name."""
    return {
        **_principal_parsers(console),
        **_key_parsers(console),
        **_host_role_parsers(console),
    }


def _principal_parsers(console: Console) -> dict[str, CommandParser]:
    """addprinc, delprinc, renprinc, getprinc, listprincs, modprinc."""
    out: dict[str, CommandParser] = {}

    p = out["addprinc"] = console.parser("addprinc", "add a principal")
    keysrc = p.add_mutually_exclusive_group()
    keysrc.add_argument("-pw", metavar="PASSWORD", help="the password (else prompted)")
    keysrc.add_argument("-randkey", action="store_true", help="random keys, no password")
    add_enctypes(p)
    add_switches(p)
    add_lifetimes(p, pwexpire=True)
    add_policy(p)
    p.add_argument("name", metavar="NAME")

    p = out["delprinc"] = console.parser("delprinc", "delete a principal")
    p.add_argument("-force", action="store_true", help="do not ask for confirmation")
    p.add_argument("name", metavar="NAME")

    p = out["renprinc"] = console.parser("renprinc", "rename a principal (keys are kept)")
    p.add_argument("-force", action="store_true", help="accepted for MIT compatibility")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")

    p = out["getprinc"] = console.parser("getprinc", "show a principal (never its keys)")
    p.add_argument("-terse", action="store_true", help="accepted for MIT compatibility")
    p.add_argument("name", metavar="NAME")

    p = out["listprincs"] = console.parser(
        "listprincs", "list principals, optionally matching a glob"
    )
    p.add_argument("glob", metavar="GLOB", nargs="?")

    p = out["modprinc"] = console.parser("modprinc", "change a principal's attributes")
    add_switches(p)
    add_lifetimes(p, pwexpire=True)
    p.add_argument("-kvno", type=int, metavar="KVNO", help="set the key version number")
    add_policy(p)
    state = p.add_mutually_exclusive_group()
    state.add_argument("-disable", action="store_true", help="refuse all tickets")
    state.add_argument("-enable", action="store_true", help="undo -disable")
    p.add_argument("name", metavar="NAME")
    return out


def _key_parsers(console: Console) -> dict[str, CommandParser]:
    """cpw, purgekeys, ktadd: a principal's keys and their export."""
    out: dict[str, CommandParser] = {}

    p = out["cpw"] = console.parser("cpw", "change a principal's password or randomize its keys")
    keysrc = p.add_mutually_exclusive_group()
    keysrc.add_argument("-pw", metavar="PASSWORD", help="the new password (else prompted)")
    keysrc.add_argument("-randkey", action="store_true", help="new random keys")
    p.add_argument("-keepold", action="store_true", help="keep the older kvnos' keys too")
    add_enctypes(p)
    p.add_argument("name", metavar="NAME")

    p = out["purgekeys"] = console.parser(
        "purgekeys", "drop old kvnos' keys kept by cpw -keepold (default: all but the current)"
    )
    purge = p.add_mutually_exclusive_group()
    purge.add_argument(
        "-keepkvno", type=int, metavar="KVNO", help="purge only the kvnos lower than KVNO"
    )
    purge.add_argument("-all", action="store_true", help="purge every key, the current too")
    p.add_argument("name", metavar="NAME")

    p = out["ktadd"] = console.parser(
        "ktadd", "add principals' keys to a keytab (new random keys first)"
    )
    p.add_argument("-k", "-keytab", dest="keytab", metavar="KEYTAB", required=True)
    p.add_argument("-norandkey", action="store_true", help="export the current keys as-is")
    p.add_argument("-q", action="store_true", help="do not list the entries added")
    p.add_argument("-glob", metavar="GLOB", help="every principal matching GLOB")
    p.add_argument("names", metavar="NAME", nargs="*")
    return out


def _host_role_parsers(console: Console) -> dict[str, CommandParser]:
    """hostroles, creprincs, expkeytabs: the Hadoop host roles."""
    out: dict[str, CommandParser] = {}

    out["hostroles"] = console.parser(
        "hostroles", "list the Hadoop host roles and their principal names"
    )

    p = out["creprincs"] = console.parser(
        "creprincs", "create the principals of hosts x roles in a hostroles JSON file"
    )
    p.add_argument(
        "file",
        metavar="HOSTROLES_FILE",
        help='{"HOSTS": [{"name": ..., "hostRoles": "HDFS,YARN"}]}',
    )

    p = out["expkeytabs"] = console.parser(
        "expkeytabs", "write <ROLE>-<host>.keytab for a host's roles"
    )
    p.add_argument("-p", dest="directory", metavar="DIR", default=".", help="where (default .)")
    p.add_argument("host", metavar="HOST")
    p.add_argument("role", metavar="ROLE", nargs="?", help="one role (default: all)")
    return out


#: the filters of ``audit`` (each an option ``-<name>``), as `has_kdc.admin.audit_query` takes
AUDIT_FILTERS = ("since", "until", "actor", "via", "action", "target", "result", "limit")


def audit_parser(console: Console) -> CommandParser:
    """``audit [-since T] [-until T] [-actor WHO] [-via WAY] [-action A] [-target PATTERN]
    [-result success|failure] [-limit N] [-json]``: the audit trail, oldest first."""
    p = console.parser("audit", "show the audit trail: who changed what, when, from where")
    p.add_argument("-since", metavar="TIME", help="at or after: 2027-01-01, @EPOCH, '2h ago'")
    p.add_argument("-until", metavar="TIME", help="at or before (same forms)")
    p.add_argument("-actor", metavar="WHO", help="who made the change (exact)")
    p.add_argument("-via", metavar="WAY", help="hadmin-local, rest, kdcinit, ansible:<module>")
    p.add_argument("-action", metavar="ACTION", help="addprinc, cpw, ktadd, init, setplugin ...")
    p.add_argument("-target", metavar="PATTERN", help="what it was done to (* and ? match)")
    p.add_argument("-result", choices=("success", "failure"), help="only successes or failures")
    p.add_argument("-limit", type=int, metavar="N", help="the newest N records (default 100)")
    p.add_argument("-json", action="store_true", help="one JSON object per line")
    return p


def audit_line(record: dict[str, object]) -> str:
    """One audit record (the JSON form of `has_kdc.admin.audit.record_json`) as a line."""
    detail = json.dumps(record.get("detail") or {}, sort_keys=True, separators=(",", ":"))
    return (
        "\t".join(
            str(record.get(k, ""))
            for k in ("time", "node", "via", "actor", "address", "action", "target", "result")
        )
        + f"\t{detail}"
    )


def register_principal_commands(
    console: Console,
    add: Callable[[str, CommandParser, Callable[[argparse.Namespace], int], tuple[str, ...]], None],
) -> dict[str, CommandParser]:
    """Register every command of ``PRINCIPAL_COMMANDS`` through ``add(name, parser, run,
    aliases)``, ``run`` being the console's method of that name.

    Returns the parsers, so a tool can add the options only it has.
    """
    parsers = _parsers(console)
    for name, aliases in PRINCIPAL_COMMANDS.items():
        add(name, parsers[name], getattr(console, name), aliases)
    return parsers


def attribute_options(
    options: argparse.Namespace,
    *,
    duration: Callable[[str], object],
    time: Callable[[str], object],
) -> dict[str, object]:
    """The attribute changes an option set asks for (only what was given).

    ``duration`` and ``time`` turn the text of -maxlife/-maxrenewlife and
    -expire/-pwexpire into what the tool passes on; both should refuse a typo.
    """
    out: dict[str, object] = {}
    for word in SWITCHES:
        value = getattr(options, word, None)
        if value is not None:
            out[word] = value
    for option, name in (("maxlife", "max_life"), ("maxrenewlife", "max_renewable_life")):
        text = getattr(options, option, None)
        if text is not None:
            out[name] = duration(text)
    for option, name in (("expire", "expiration"), ("pwexpire", "pw_expiration")):
        text = getattr(options, option, None)
        if text is not None:
            out[name] = time(text)
    if getattr(options, "policy", None) is not None:
        out["policy"] = options.policy
    if getattr(options, "clearpolicy", False):
        out["policy"] = None
    if getattr(options, "disable", False):
        out["disabled"] = True
    if getattr(options, "enable", False):
        out["disabled"] = False
    return out


def new_password(console: Console, options: argparse.Namespace, canonical: str) -> str | None:
    """The password of addprinc/cpw: none with -randkey, else -pw, else asked twice."""
    if options.randkey:
        return None
    if options.pw is not None:
        return str(options.pw)
    return read_new_password(console, canonical)


def confirm_delete(console: Console, canonical: str) -> bool:
    """MIT's delprinc question; ``False`` (and a message) unless the answer is yes."""
    question = f'Are you sure you want to delete the principal "{canonical}"? (yes/no): '
    if not console.stdin_is_tty() and not console.interactive:
        console.out(question)
    answer = console.read_line(question)
    if answer is None:
        raise AdminError(f"not deleting {canonical}: no answer on standard input; use -force")
    if answer.strip().lower() != "yes":
        console.out(f'Principal "{canonical}" not deleted.')
        return False
    return True


def purged_line(canonical: str) -> str:
    """What MIT's purgekeys prints when it is done."""
    return f'Old keys for principal "{canonical}" purged.'


def keytab_entry_line(principal: str, kvno: int, etype: str, keytab: str) -> str:
    """The line MIT's ktadd prints for each entry it writes."""
    return (
        f"Entry for principal {principal} with kvno {kvno}, "
        f"encryption type {etype} added to keytab WRFILE:{keytab}."
    )
