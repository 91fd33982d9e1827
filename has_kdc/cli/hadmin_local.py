"""``hadmin-local <conf_dir> [command ...]``: principal administration on this node.

Like HAS's ``hadmin-local.sh`` (and MIT's ``kadmin.local``) it works on the identity
store directly, so it needs the node's conf_dir and database access, nothing more.
Without a command it opens the ``HadminLocalTool.local:`` prompt. HAS's
``-k ADMIN_KEYTAB`` or ``-c CCACHE`` before the command is accepted for
compatibility; local access needs no credentials, so the file is only checked to be a
keytab or credential cache this user can read.

Commands and options follow ``kadmin``; see ``hadmin-local CONF help``. Passwords come
from ``-pw``, a twice-asked prompt, or standard input (see `cli.passwords`); they and
the keys never appear in any output.

``audit`` shows the audit trail (every change to principals, keys, plugin users, nodes
and configuration, by any tool on any node): ``audit -since '1d ago' -action cpw``,
``-json`` for one JSON object per line; see ``help audit``. Changes made here are
recorded as the local OS user (``root (sudo from alice)`` under sudo), via
``hadmin-local``.

``listnodes`` and ``delnode HOST`` show and deregister the HAS nodes clients are
given (`has_kdc.admin.realm.deregister_node`).
``nodes [-json]`` shows every registered HAS node and database host (see
`has_kdc.admin.cluster`), as ``kdcinit nodes`` does.

HAS's Hadoop bulk commands (`has_kdc.admin.hostroles`) are here too: ``hostroles``
(alias ``get_hostroles``), ``creprincs HOSTROLES.json`` (``create_principals``) and
``expkeytabs HOST [ROLE] [-p DIR]`` (``export_keytabs``). ``creprincs`` reports progress
on stderr (a line kept up to date on a terminal, else one line every ``-progress N``
principals) and ends with ``created X, skipped Y, failed Z in T s`` on stdout; it
exits 1 if any principal failed.

HAS's other commands: ``enable_configure`` / ``disable_configure`` (``enable``,
``disable``) set ``enable_conf`` in the conf_dir's has-server.conf (audited; once the
realm is initialized the configuration endpoints still admit administrators only);
``deploy_keytabs HOSTROLES DIR [USER [PASSWORD]] [-port N]`` (``depkeytabs``) and
``keytab create|deploy|create_deploy HOSTROLES [DIR PORT USER [PASSWORD]]`` create the
hosts' service principals, export ``<ROLE>-<host>.keytab`` files and copy them to DIR
on each host over SSH (`has_kdc.cli.deploy_keytabs`); ``cmd`` lists the commands.

``import SOURCE [--format F] [--dry-run] [--update]`` brings an existing realm over
with its keys (`has_kdc.admin.importing`): a Kerby/HAS MySQL URL, Kerby's JSON
backend file or an MIT ``kdb5_util dump`` (with ``--stash`` or
``--master-password-file``). A MySQL password comes from the URL,
``--password-file`` or ``HAS_IMPORT_PASSWORD``. It prints what was (or, with
``--dry-run``, would be) carried, kept and refused, and why; it exits 1 if a
principal could not be written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from has_kdc.admin import (
    HOST_ROLES,
    AdminError,
    PrincipalAdmin,
    audit_query,
    create_principals,
    deregister_node,
    export_host_keytabs,
    host_role_principals,
    parse_duration,
    parse_time,
    read_hostroles,
)
from has_kdc.admin.audit import record_json
from has_kdc.admin.cluster import cluster_report, render_text
from has_kdc.admin.importing import (
    FORMATS,
    PasswordScheme,
    apply_import,
    plan_import,
    read_source,
    report_lines,
)
from has_kdc.cli.context import admin_session
from has_kdc.cli.deploy_keytabs import deploy_keytabs
from has_kdc.cli.hadmin_commands import (
    AUDIT_FILTERS,
    attribute_options,
    audit_line,
    audit_parser,
    confirm_delete,
    keytab_entry_line,
    new_password,
    purged_line,
    register_principal_commands,
)
from has_kdc.cli.plugin_users import register_plugin_user_commands
from has_kdc.cli.policies import register_policy_commands
from has_kdc.cli.shell import USER_ERRORS, Command, CommandParser, Console
from has_kdc.conf import HAS_SERVER_CONF
from has_kdc.conf.has_server import set_enable_conf
from has_kdc.crypto import enctype_name
from has_kdc.formats.ccache import parse_ccache
from has_kdc.formats.keytab import parse_keytab
from has_kdc.plugins.mysql import check_user_name
from has_kdc.plugins.passwords import hash_password, verify_password

__all__ = ["HadminLocal", "main"]

PROMPT = "HadminLocalTool.local:"
IMPORT_PASSWORD_ENV = "HAS_IMPORT_PASSWORD"  # noqa: S105 (a variable name)


def _attributes(options: argparse.Namespace) -> dict[str, object]:
    """The attribute changes an option set asks for, typed as `PrincipalAdmin` takes them."""
    return attribute_options(options, duration=parse_duration, time=parse_time)


class HadminLocal(Console):
    """The hadmin-local commands over one `PrincipalAdmin`."""

    def __init__(
        self,
        admin: PrincipalAdmin,
        conf_dir: str | os.PathLike[str] | None = None,
        **streams: TextIO,
    ) -> None:
        super().__init__("hadmin-local", PROMPT, **streams)
        self.admin = admin
        self.conf_dir = conf_dir
        self._register()

    # -- command table ------------------------------------------------------------------

    def _register(self) -> None:
        def add(
            name: str, parser: CommandParser, run: Callable[..., int], aliases: tuple[str, ...]
        ) -> None:
            self.add(Command(name, parser, run, aliases))

        parsers = register_principal_commands(self, add)
        p = parsers["creprincs"]
        p.add_argument("-chunk", type=int, default=500, metavar="N", help="principals per batch")
        p.add_argument(
            "-progress", type=int, default=1000, metavar="N", help="progress line every N"
        )
        register_plugin_user_commands(self, self.admin)
        register_policy_commands(self, self.admin)
        p = self.parser("import", "import a Kerby/HAS or MIT realm with its keys")
        p.add_argument("--format", "-format", dest="fmt", choices=FORMATS, help="default: detect")
        p.add_argument("--dry-run", "-dry-run", dest="dry_run", action="store_true")
        p.add_argument("--update", "-update", action="store_true", help="replace changed ones")
        p.add_argument("--stash", "-stash", metavar="FILE", help="MIT master key stash")
        p.add_argument("--master-password-file", "-master-password-file", metavar="FILE")
        p.add_argument("--user", "-user", metavar="USER", help="MySQL user (else in the URL)")
        p.add_argument("--password-file", "-password-file", metavar="FILE", help="MySQL password")
        p.add_argument("source", metavar="SOURCE", help="mysql:// or jdbc:mysql:// URL, or file")
        self.add(Command("import", p, self.import_realm, ("import_realm",)))
        self.add(Command("audit", audit_parser(self), self.audit, ("show_audit",)))
        p = self.parser("listnodes", "the HAS nodes registered in the realm (what clients list)")
        self.add(Command("listnodes", p, self.listnodes, ("list_nodes",)))
        p = self.parser(
            "delnode", "deregister a HAS node taken out of service (stop its has-server first)"
        )
        p.add_argument("host", help="the node's host, as listnodes shows it")
        self.add(Command("delnode", p, self.delnode, ("deregister_node",)))
        p = self.parser(
            "nodes", "every HAS node and database host: state, heartbeat, KDC load, Galera"
        )
        p.add_argument("-json", action="store_true", help="the report as JSON")
        add("nodes", p, self.nodes, ())
        for name, alias, state in (
            ("enable_configure", "enable", "open"),
            ("disable_configure", "disable", "close"),
        ):
            p = self.parser(name, f"{state} this node's configuration endpoints (enable_conf)")
            add(
                name,
                p,
                self.enable_configure if state == "open" else self.disable_configure,
                (alias,),
            )
        p = self.parser(
            "deploy_keytabs",
            "create the hosts' service principals, export their keytabs, copy them over SSH",
        )
        p.add_argument("hostroles", metavar="HOSTROLES", help="HAS's hosts file (JSON)")
        p.add_argument("directory", metavar="DIR", help="absolute directory on every host")
        p.add_argument("user", metavar="USER", nargs="?", help="SSH user (default: ssh's)")
        p.add_argument(
            "password", metavar="PASSWORD", nargs="?", help="SSH password (keys are better)"
        )
        p.add_argument("-port", type=int, default=22, help="SSH port (default 22)")
        add("deploy_keytabs", p, self.deploy_keytabs, ("depkeytabs",))
        p = self.parser(
            "keytab", "HAS's keytab create | deploy | create_deploy (see deploy_keytabs)"
        )
        p.add_argument("action", choices=("create", "deploy", "create_deploy"))
        p.add_argument("hostroles", metavar="HOSTROLES")
        p.add_argument("rest", nargs="*", metavar="DIR PORT USER [PASSWORD]")
        add("keytab", p, self.keytab, ())
        p = self.parser("deploy_https", "HAS's certificate deployment: see 'kdcinit certs'")
        p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
        add("deploy_https", p, self.deploy_https, ("dephttps", "deploy_certs"))

    # -- commands ---------------------------------------------------------------------

    def addprinc(self, options: argparse.Namespace) -> int:
        canonical = self.admin.canonical(options.name)
        attributes = _attributes(options)
        if self.admin.exists(canonical):
            raise AdminError(f"principal {canonical} already exists")
        password = new_password(self, options, canonical)
        self.admin.add_principal(
            canonical,
            password=password,
            randkey=password is None,
            attributes=attributes,
            enctypes=options.enctypes,
        )
        self.out(f'Principal "{canonical}" created.')
        return 0

    def delprinc(self, options: argparse.Namespace) -> int:
        canonical = self.admin.canonical(options.name)
        self.admin.get_principal(canonical)  # a missing principal fails before the question
        if not options.force and not confirm_delete(self, canonical):
            return 1
        self.admin.delete_principal(canonical)
        self.out(f'Principal "{canonical}" deleted.')
        return 0

    def renprinc(self, options: argparse.Namespace) -> int:
        renamed = self.admin.rename_principal(options.old, options.new)
        self.out(f'Principal "{self.admin.canonical(options.old)}" renamed to "{renamed.name}".')
        return 0

    def getprinc(self, options: argparse.Namespace) -> int:
        self.out(self.admin.describe_principal(options.name))
        return 0

    def listprincs(self, options: argparse.Namespace) -> int:
        for name in self.admin.list_principals(options.glob):
            self.out(name)
        return 0

    def cpw(self, options: argparse.Namespace) -> int:
        canonical = self.admin.canonical(options.name)
        self.admin.get_principal(canonical)
        password = new_password(self, options, canonical)
        if password is None:
            self.admin.randomize_keys(canonical, keepold=options.keepold)
            self.out(f'Key for "{canonical}" randomized.')
        else:
            self.admin.change_password(
                canonical, password, keepold=options.keepold, enctypes=options.enctypes
            )
            self.out(f'Password for "{canonical}" changed.')
        return 0

    def purgekeys(self, options: argparse.Namespace) -> int:
        purged = self.admin.purge_keys(
            options.name, keepkvno=options.keepkvno, purge_all=options.all
        )
        self.out(purged_line(purged.name))
        return 0

    def modprinc(self, options: argparse.Namespace) -> int:
        attributes = _attributes(options)
        if not attributes and options.kvno is None:
            raise AdminError("nothing to change: give at least one option (see 'help modprinc')")
        changed = self.admin.modify_principal(options.name, attributes, kvno=options.kvno)
        self.out(f'Principal "{changed.name}" modified.')
        return 0

    def ktadd(self, options: argparse.Namespace) -> int:
        if not options.names and options.glob is None:
            raise AdminError("no principal given: name one or more, or use -glob GLOB")
        entries = self.admin.export_keytab(
            options.keytab, options.names, glob=options.glob, norandkey=options.norandkey
        )
        if not options.q:
            for entry in entries:
                etype = enctype_name(entry.enctype) or str(entry.enctype)
                self.out(keytab_entry_line(str(entry.principal), entry.kvno, etype, options.keytab))
        return 0

    def audit(self, options: argparse.Namespace) -> int:
        query = audit_query(**{name: getattr(options, name) for name in AUDIT_FILTERS})
        for record in self.admin.audit.records(query):
            line = record_json(record)
            self.out(line if options.json else audit_line(json.loads(line)))
        return 0

    def hostroles(self, _options: argparse.Namespace) -> int:
        for role, names in HOST_ROLES.items():
            self.out(f"\tHostRole: {role}, PrincipalNames: {', '.join(names)}")
        return 0

    def creprincs(self, options: argparse.Namespace) -> int:
        if options.chunk < 1 or options.progress < 1:
            raise AdminError("-chunk and -progress must be at least 1")
        hosts = read_hostroles(options.file)
        names = host_role_principals(hosts, self.admin.realm)
        progress = _Progress(self, options.progress)
        result = create_principals(self.admin, names, chunk=options.chunk, progress=progress)
        progress.finish()
        for name, reason in result.failed:
            self.err(f"creprincs: {name}: {reason}")
        self.out(result.summary())
        return 1 if result.failed else 0

    def listnodes(self, _options: argparse.Namespace) -> int:
        for host in self.admin.backend.list_nodes():
            self.out(host)
        return 0

    def delnode(self, options: argparse.Namespace) -> int:
        admin = self.admin
        if not deregister_node(admin.backend, admin.kdc, admin.audit.actor, host=options.host):
            raise AdminError(f"no HAS node {options.host} is registered (see listnodes)")
        self.out(f'Node "{options.host}" deregistered.')
        return 0

    def expkeytabs(self, options: argparse.Namespace) -> int:
        exports = export_host_keytabs(self.admin, options.host, options.directory, options.role)
        for export in exports:
            self.out(
                f"Keytab of {export.role} for {options.host} exported to {export.path} "
                f"({', '.join(export.principals)})."
            )
        return 0

    def _set_enable_conf(self, enabled: bool) -> int:
        if self.conf_dir is None:
            raise AdminError("no conf_dir: enable_configure edits its has-server.conf")
        path = os.path.join(self.conf_dir, HAS_SERVER_CONF)
        if not os.path.isfile(path):
            raise AdminError(f"{path} does not exist: this node serves no configuration endpoints")
        with self.admin.audit.change("setconf", path, atomic=False, enable_conf=enabled) as change:
            changed = set_enable_conf(path, enabled)
            if not changed:
                change.unchanged()
        state = "enabled" if enabled else "disabled"
        self.out(f"Configuration endpoints {state}{'' if changed else ' already'} ({path}).")
        return 0

    def enable_configure(self, _options: argparse.Namespace) -> int:
        return self._set_enable_conf(True)

    def disable_configure(self, _options: argparse.Namespace) -> int:
        return self._set_enable_conf(False)

    def _deploy(
        self,
        hostroles: str,
        directory: str,
        user: str | None,
        password: str | None,
        port: int,
        create: bool,
    ) -> int:
        if password is not None:
            self.err(
                "hadmin-local: an SSH password on the command line is visible to other "
                "users of this machine; prefer SSH keys (ssh-copy-id)"
            )
        result = deploy_keytabs(
            self.admin,
            read_hostroles(hostroles),
            directory,
            user=user,
            port=port,
            password=password,
            create=create,
            report=self.out,
        )
        for name, reason in result.failed:
            self.err(f"deploy_keytabs: {name}: {reason}")
        self.out(f"deployed to {len(result.deployed)} host(s), {len(result.failed)} failed")
        return 1 if result.failed else 0

    def deploy_keytabs(self, options: argparse.Namespace) -> int:
        return self._deploy(
            options.hostroles,
            options.directory,
            options.user,
            options.password,
            options.port,
            create=True,
        )

    def keytab(self, options: argparse.Namespace) -> int:
        rest = list(options.rest)
        if options.action == "create":
            if rest:
                raise AdminError("usage: keytab create HOSTROLES")
            hosts = read_hostroles(options.hostroles)
            result = create_principals(self.admin, host_role_principals(hosts, self.admin.realm))
            for name, reason in result.failed:
                self.err(f"keytab create: {name}: {reason}")
            self.out(result.summary())
            return 1 if result.failed else 0
        if len(rest) not in (3, 4):
            raise AdminError(f"usage: keytab {options.action} HOSTROLES DIR PORT USER [PASSWORD]")
        if rest[0].isdigit() and rest[1].startswith("/"):  # has-start.md writes PORT DIR
            rest[0], rest[1] = rest[1], rest[0]
        directory, port, user = rest[0], rest[1], rest[2]
        if not port.isdigit():
            raise AdminError(f"keytab {options.action}: {port!r} is not an SSH port number")
        password = rest[3] if len(rest) == 4 else None
        return self._deploy(
            options.hostroles,
            directory,
            user,
            password,
            int(port),
            create=options.action == "create_deploy",
        )

    def deploy_https(self, _options: argparse.Namespace) -> int:
        """HAS copied one Java trust store (and its password) to every host; has-kdc's
        nodes each have a key of their own, certified by the cluster CA."""
        raise AdminError(
            "has-kdc does not copy key or trust stores between hosts: each node makes its "
            "own key and gets it certified ('kdcinit CONF_DIR certs --ca-dir CA_DIR' on the "
            "node, or the has_server role), and clients trust the cluster CA "
            "(ca-root.pem, written by 'kdcinit CONF_DIR gethas -p DIR'); see docs/tls.md"
        )

    def import_realm(self, options: argparse.Namespace) -> int:
        password = _secret_file(options.password_file) or os.environ.get(IMPORT_PASSWORD_ENV)
        source = read_source(
            options.source,
            options.fmt,
            user=options.user,
            password=password,
            stash=options.stash,
            master_password=_secret_file(options.master_password_file),
        )
        scheme = PasswordScheme(hash_password, verify_password, check_user_name)
        backend, kdc = self.admin.backend, self.admin.kdc
        plan = plan_import(backend, kdc, source, update=options.update, scheme=scheme)
        if options.dry_run:
            for line in report_lines(plan):
                self.out(line)
            return 0
        result = apply_import(backend, kdc, plan, actor=self.admin.audit.actor, scheme=scheme)
        for line in report_lines(plan, result):
            self.out(line)
        return 1 if result.failed else 0

    def nodes(self, options: argparse.Namespace) -> int:
        report = cluster_report(self.admin.backend)
        if options.json:
            self.out(json.dumps(report, indent=2, sort_keys=True))
        else:
            for line in render_text(report):
                self.out(line)
        return 0


def _secret_file(path: str | None) -> str | None:
    """The first line of a password file (None without a path)."""
    if path is None:
        return None
    with open(path, encoding="utf-8") as fh:
        return fh.readline().rstrip("\r\n")


class _Progress:
    """creprincs progress on stderr: one line redrawn on a terminal, else every N."""

    def __init__(self, console: HadminLocal, every: int) -> None:
        self.console = console
        self.every = every
        self.last = 0
        try:
            self.tty = console.stderr.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        text = f"creprincs: {done}/{total} principals ({100 * done // max(total, 1)}%)"
        if self.tty:
            self.console.stderr.write("\r" + text)
            self.console.stderr.flush()
            self.drawn = True
        elif done // self.every > self.last // self.every or done == total:
            self.console.err(text)
        self.last = done

    def finish(self) -> None:
        if self.drawn:
            self.console.stderr.write("\n")
            self.console.stderr.flush()


def _main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hadmin-local",
        description="Principal administration on this HAS node (direct database access).",
        usage="hadmin-local [-h] conf_dir [-k ADMIN_KEYTAB | -c CCACHE] [command [args ...]]",
        epilog="Without a command, opens the interactive prompt. Type 'help' there. "
        "-k ADMIN_KEYTAB or -c CCACHE right after conf_dir is accepted as HAS's hadmin-local "
        "takes it; local access needs no credentials, so the file is only checked to be "
        "readable.",
    )
    parser.add_argument("conf_dir", help="HAS conf_dir holding kdc.conf and backend.conf")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command and its arguments")
    return parser


def _check_credentials(flag: str, path: str) -> None:
    """HAS's ``-k KEYTAB`` / ``-c CCACHE``: a file of that kind this user can read."""
    what, parse = (
        ("admin keytab", parse_keytab) if flag == "-k" else ("credential cache", parse_ccache)
    )
    try:
        with open(path, "rb") as fh:
            parse(fh.read())
    except OSError as exc:
        raise AdminError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise AdminError(f"{path} is not a {what} ({flag})") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    credentials = None
    if len(args) >= 3 and args[1] in ("-k", "-c"):  # HAS: hadmin-local <conf_dir> -k|-c FILE
        credentials = (args[1], args[2])
        del args[1:3]
    options = _main_parser().parse_args(args)
    try:
        if credentials is not None:
            _check_credentials(*credentials)
        with admin_session(options.conf_dir, "hadmin-local") as session:
            console = HadminLocal(session.admin, options.conf_dir)
            if options.command:
                return console.run_command(list(options.command))
            return console.interact()
    except USER_ERRORS as exc:
        print(f"hadmin-local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hadmin-local: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
