"""``hadmin-remote <conf_dir> [command ...]``: principal administration over HTTPS.

HAS's ``hadmin-remote.sh <conf_dir>``: the same commands as ``hadmin-local``, sent to
the HAS nodes' admin API (/has/v1/admin/...) instead of the database, so it runs on
any host that has ``<conf_dir>/hadmin.conf``, the admin keytab it names, the realm's
krb5.conf and the cluster CA (see `has_kdc.client.admin_client`). It authenticates
as ``admin_keytab_principal`` (kadmin/REALM@REALM) with SPNEGO, checks every node's
mutual-authentication reply, and fails over across hadmin.conf's ``https_host`` list.
Without a command it opens HAS's ``HadminRemoteTool.remote:`` prompt (``cmd`` or
``help`` lists the commands).

Commands (MIT/hadmin-local options): addprinc, delprinc, renprinc, getprinc,
listprincs, cpw [-keepold], purgekeys, modprinc, ktadd (xst), hostroles, creprincs,
expkeytabs, audit (the audit trail, GET admin/audit; times are read here and sent as
``@<epoch>``), and HAS's enable_configure / disable_configure (``enable_conf`` of
has-server.conf, set on every node of the list: each node has its own file).
Keytabs come over HTTPS and are written here, mode 0600, atomically; ``ktadd`` re-keys
first unless ``-norandkey`` (then every kept kvno comes), as MIT's does. Passwords
travel in the JSON body of the HTTPS request, never in a URL, and are never printed.

Not here: the MySQL-plugin user commands of hadmin-local (they edit the plugin's
table directly).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from has_kdc.admin import (
    HOST_ROLES,
    AdminError,
    audit_query,
    parse_duration,
    parse_time,
    read_hostroles,
)
from has_kdc.admin.hostroles import keytab_file_name
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
from has_kdc.cli.shell import USER_ERRORS, Command, Console
from has_kdc.client.admin_client import HasAdminClient
from has_kdc.client.has_client import HasClientError
from has_kdc.client.kdc_client import KdcReplyError
from has_kdc.crypto import enctype_name
from has_kdc.formats import Keytab, read_keytab, write_keytab
from has_kdc.formats.keytab import parse_keytab
from has_kdc.gss import GssError
from has_kdc.principal import normalize_principal

__all__ = ["PROMPT", "HadminRemote", "main"]

PROMPT = "HadminRemoteTool.remote:"
#: names per getprincipals request of listprincs and ktadd -glob
LIST_PAGE = 1000
#: Errors of the remote path, printed as one line like the USER_ERRORS of the console.
REMOTE_ERRORS: tuple[type[Exception], ...] = (HasClientError, KdcReplyError, GssError, LookupError)


def _remote_attributes(options: argparse.Namespace) -> dict[str, Any]:
    """The attribute parameters of addprincipal/modifyprincipal (only what was given).

    Durations are checked here, so a typo fails before anything is sent, and sent as
    given; times are read here, in this host's time zone, and sent as ``@<epoch>``.
    """
    out = attribute_options(options, duration=_checked_duration, time=_epoch_or_never)
    if "policy" in out and out["policy"] is None:  # -clearpolicy
        del out["policy"]
        out["clearpolicy"] = True
    return out


def _checked_duration(text: str) -> str:
    parse_duration(text)
    return text


def _epoch_or_never(text: str) -> str:
    when = parse_time(text)
    return "never" if when is None else f"@{when}"


def _local_only_enctypes(options: argparse.Namespace) -> None:
    """``-e`` is not part of the REST API: refused rather than silently ignored."""
    if options.enctypes is not None:
        raise AdminError("-e (chosen enctypes) is supported by hadmin-local only")


class HadminRemote(Console):
    """The hadmin-remote commands over one `HasAdminClient`."""

    def __init__(self, client: HasAdminClient, **streams: TextIO) -> None:
        super().__init__("hadmin-remote", PROMPT, **streams)
        self.client = client
        self._register()

    def canonical(self, name: str) -> str:
        return normalize_principal(name.strip(), self.client.realm)

    def _guarded(self, run: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
        """Remote failures become one-line AdminErrors, as local failures are."""

        def guarded(options: argparse.Namespace) -> int:
            try:
                return run(options)
            except REMOTE_ERRORS as exc:
                raise AdminError(str(exc)) from None

        return guarded

    def _add(
        self, name: str, parser: Any, run: Callable[..., int], aliases: tuple[str, ...] = ()
    ) -> None:
        self.add(Command(name, parser, self._guarded(run), aliases))

    def run_command(self, argv: list[str]) -> int:
        if argv and argv[0] == "cmd":  # HAS's word for the command list
            argv = ["help", *argv[1:]]
        return super().run_command(argv)

    def interact(self) -> int:
        self.out('enter "cmd" to see legal commands.')
        return super().interact()

    # -- command table ------------------------------------------------------------------

    def _register(self) -> None:
        register_principal_commands(self, self._add)

        self._add("audit", audit_parser(self), self.audit, ("show_audit",))
        p = self.parser("enable_configure", "open the nodes' configuration endpoints")
        self._add("enable_configure", p, self.enable_configure, ("enable",))
        p = self.parser("disable_configure", "close the nodes' configuration endpoints")
        self._add("disable_configure", p, self.disable_configure, ("disable",))

    # -- commands ---------------------------------------------------------------------

    def audit(self, options: argparse.Namespace) -> int:
        query = audit_query(**{name: getattr(options, name) for name in AUDIT_FILTERS})
        params: dict[str, object] = {
            name: getattr(options, name)
            for name in AUDIT_FILTERS
            if getattr(options, name) is not None
        }
        for name in ("since", "until"):  # this host's clock and time zone decide
            if params.get(name) is not None:
                params[name] = f"@{int(getattr(query, name))}"
        for record in self.client.get("admin/audit", **params).json()["records"]:
            self.out(json.dumps(record, ensure_ascii=False) if options.json else audit_line(record))
        return 0

    def addprinc(self, options: argparse.Namespace) -> int:
        canonical = self.canonical(options.name)
        _local_only_enctypes(options)
        body: dict[str, Any] = {"principal": canonical, **_remote_attributes(options)}
        password = new_password(self, options, canonical)
        if password is not None:
            body["password"] = password
        self.client.post("admin/addprincipal", body)
        self.out(f'Principal "{canonical}" created.')
        return 0

    def delprinc(self, options: argparse.Namespace) -> int:
        canonical = self.canonical(options.name)
        self.client.get("admin/getprincipal", principal=canonical)  # missing: fails first
        if not options.force and not confirm_delete(self, canonical):
            return 1
        self.client.delete("admin/deleteprincipal", principal=canonical)
        self.out(f'Principal "{canonical}" deleted.')
        return 0

    def renprinc(self, options: argparse.Namespace) -> int:
        old, new = self.canonical(options.old), self.canonical(options.new)
        answer = self.client.post(
            "admin/renameprincipal", {"oldprincipal": old, "newprincipal": new}
        ).json()
        self.out(f'Principal "{old}" renamed to "{answer.get("principal", new)}".')
        return 0

    def getprinc(self, options: argparse.Namespace) -> int:
        answer = self.client.get("admin/getprincipal", principal=self.canonical(options.name))
        self.out(answer.json()["description"])
        return 0

    def listprincs(self, options: argparse.Namespace) -> int:
        for name in self._principals(options.glob):
            self.out(name)
        return 0

    def _principals(self, glob: str | None) -> Iterator[str]:
        """The names matching ``glob``, a page of `LIST_PAGE` per request (each page
        printed before the next is asked for)."""
        after = None
        while True:
            params: dict[str, object] = {"exp": glob, "limit": LIST_PAGE}
            if after is not None:
                params["after"] = after
            page = self.client.get("admin/getprincipals", **params).json()
            yield from page["principals"]
            after = page.get("next")
            if after is None:
                return

    def cpw(self, options: argparse.Namespace) -> int:
        canonical = self.canonical(options.name)
        _local_only_enctypes(options)
        self.client.get("admin/getprincipal", principal=canonical)
        password = new_password(self, options, canonical)
        body: dict[str, Any] = {"principal": canonical}
        if password is not None:
            body["password"] = password
        if options.keepold:
            body["keepold"] = True
        self.client.post("admin/changepassword", body)
        if password is None:
            self.out(f'Key for "{canonical}" randomized.')
        else:
            self.out(f'Password for "{canonical}" changed.')
        return 0

    def purgekeys(self, options: argparse.Namespace) -> int:
        body: dict[str, Any] = {"principal": self.canonical(options.name)}
        if options.keepkvno is not None:
            body["keepkvno"] = options.keepkvno
        if options.all:
            body["all"] = True
        answer = self.client.post("admin/purgekeys", body).json()
        self.out(purged_line(answer["principal"]["name"]))
        return 0

    def modprinc(self, options: argparse.Namespace) -> int:
        body: dict[str, Any] = _remote_attributes(options)
        if not body and options.kvno is None:
            raise AdminError("nothing to change: give at least one option (see 'help modprinc')")
        if options.kvno is not None:
            body["kvno"] = options.kvno
        body["principal"] = self.canonical(options.name)
        answer = self.client.post("admin/modifyprincipal", body).json()
        self.out(f'Principal "{answer["principal"]["name"]}" modified.')
        return 0

    def ktadd(self, options: argparse.Namespace) -> int:
        names = [self.canonical(n) for n in options.names]
        if options.glob is not None:
            matched = list(self._principals(options.glob))
            if not matched:
                raise AdminError(f"no principal matches {options.glob}")
            names += matched
        if not names:
            raise AdminError("no principal given: name one or more, or use -glob GLOB")
        target = Path(options.keytab)
        if target.is_dir():
            raise AdminError(f"keytab {target} is a directory; give a file path")
        keytab = Keytab()
        if target.exists():
            try:
                keytab = read_keytab(target)
            except ValueError as exc:
                raise AdminError(f"cannot add to keytab {target}: {exc}") from None
        added = []
        for name in dict.fromkeys(names):
            answer = self.client.get(
                "admin/exportkeytab", principal=name, randkey=not options.norandkey
            )
            added += parse_keytab(answer.body).entries
        keytab.add(added)
        write_keytab(target, keytab)
        if not options.q:
            for entry in added:
                etype = enctype_name(entry.enctype) or str(entry.enctype)
                principal = "/".join(entry.components) + "@" + entry.realm
                self.out(keytab_entry_line(principal, entry.kvno, etype, options.keytab))
        return 0

    def hostroles(self, _options: argparse.Namespace) -> int:
        for item in self.client.get("hostroles").json():
            names = ", ".join(item["PrincipalNames"])
            self.out(f"\tHostRole: {item['HostRole']}, PrincipalNames: {names}")
        return 0

    def creprincs(self, options: argparse.Namespace) -> int:
        hosts = read_hostroles(options.file)  # checked here, so a bad file sends nothing
        started = time.monotonic()
        body = {"HOSTS": [{"name": h.host, "hostRoles": ",".join(h.roles)} for h in hosts]}
        answer = self.client.put("admin/createprincipals", json_body=body).json()
        created, existing = len(answer["created"]), len(answer["existing"])
        seconds = time.monotonic() - started
        self.out(f"created {created}, skipped {existing}, failed 0 in {seconds:.1f} s")
        return 0

    def expkeytabs(self, options: argparse.Namespace) -> int:
        target = Path(options.directory)
        if not target.is_dir():
            raise AdminError(f"cannot write keytabs: {target} is not a directory")
        roles = [options.role.strip().upper()] if options.role else list(HOST_ROLES)
        written = 0
        for role in roles:
            try:
                answer = self.client.get("admin/exportkeytabs", host=options.host, role=role)
            except HasClientError as exc:
                if exc.status == 404 and options.role is None:
                    continue  # this role has no principal on the host
                raise
            keytab = parse_keytab(answer.body)
            path = target / keytab_file_name(options.host, role)
            write_keytab(path, keytab)
            names = ", ".join("/".join(p.components) + "@" + p.realm for p in keytab.principals())
            self.out(f"Keytab of {role} for {options.host} exported to {path} ({names}).")
            written += 1
        if not written:
            raise AdminError(
                f"no principal of any host role exists for host {options.host}; "
                "create them with 'creprincs hostroles.json' first"
            )
        return 0

    def _set_conf(self, enabled: bool) -> int:
        answers = self.client.request_each("PUT", "admin/setconf", params={"isEnable": enabled})
        status = 0
        reached = 0
        for answer in answers:
            if answer.response is not None:
                reached += 1
                self.out(answer.response.json()["msg"])
            else:
                assert answer.error is not None
                if answer.error.status is not None:
                    status = 1
                self.err(f"{answer.host}: {answer.error}")
        if not reached:
            raise AdminError("no HAS node could be reached; enable_conf is unchanged")
        return status

    def enable_configure(self, _options: argparse.Namespace) -> int:
        return self._set_conf(True)

    def disable_configure(self, _options: argparse.Namespace) -> int:
        return self._set_conf(False)


def _main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hadmin-remote",
        description="Principal administration through the HAS nodes' HTTPS admin API "
        "(SPNEGO with the admin keytab, failover across https_host).",
        epilog="Without a command, opens the interactive prompt. Type 'cmd' or 'help' there.",
    )
    parser.add_argument(
        "conf_dir", help="directory holding hadmin.conf (and the realm's krb5.conf, ca-root.pem)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command and its arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _main_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        client = HasAdminClient.from_conf_dir(options.conf_dir)
        console = HadminRemote(client)
        if options.command:
            return console.run_command(list(options.command))
        return console.interact()
    except (*USER_ERRORS, *REMOTE_ERRORS) as exc:
        print(f"hadmin-remote: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hadmin-remote: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
