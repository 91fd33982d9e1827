#!/usr/bin/python
# Copyright: has-kdc contributors
# Apache License 2.0 (see pyproject.toml)
"""Ansible module: the has-kdc database, its user and grants on MariaDB, over PyMySQL."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: has_mysql_bootstrap
short_description: Create the has-kdc database and user on MariaDB, and secure the server
description:
  - Connects as C(root) over the server's unix socket (socket authentication, so no
    root password exists to leak) and makes sure that the database I(database)
    exists (utf8mb4, binary collation), that I(user) exists at every host in
    I(user_hosts) with I(password), and that it holds all privileges on I(database)
    and nothing else.
  - With I(secure=true) it also does what C(mariadb-secure-installation) does; it drops
    anonymous users, C(root) accounts reachable from other hosts than C(localhost),
    and the C(test) database with its grants.
  - Idempotent; the password is compared with the stored hash (MariaDB's
    C(PASSWORD()) function), so an unchanged password changes nothing.
  - Needs PyMySQL for the interpreter that runs it (Debian C(python3-pymysql)), not has_kdc.
version_added: "0.1.0"
author: has-kdc contributors
options:
  login_unix_socket:
    description: The server's unix socket.
    type: path
    required: true
  login_user:
    description: The administrative account (authenticated by the socket).
    type: str
    default: root
  database:
    description: Name of the has-kdc database.
    type: str
    required: true
  user:
    description: The account HAS nodes use.
    type: str
    required: true
  password:
    description: Its password.
    type: str
    required: true
  user_hosts:
    description: Hosts the account may connect from (C(%) for any).
    type: list
    elements: str
    default: ['%']
  secure:
    description: Remove anonymous users, remote root accounts and the test database.
    type: bool
    default: true
notes:
  - Check mode reports what would change; C(--diff) lists the changes, with the
    password always shown as C(********).
  - Supports MariaDB 10.4 and later.
extends_documentation_fragment:
  - has_kdc
"""

EXAMPLES = r"""
- name: Database and user for has-kdc
  has_mysql_bootstrap:
    login_unix_socket: /run/mysqld/mysqld.sock
    database: has
    user: has
    password: "{{ has_mysql_password }}"
    user_hosts: ['%']
  no_log: true
"""

RETURN = r"""
actions:
  description: What was (or in check mode would be) done, one line each; no secrets.
  returned: always
  type: list
  elements: str
  sample: ["create database has", "create user 'has'@'%'", "grant all on has to 'has'@'%'"]
"""

import re
import traceback

from ansible.module_utils.has_kdc_module import HasKdcModule, summary_diff

PYMYSQL_ERROR = None
try:
    import pymysql
except ImportError:  # pragma: no cover - reported below
    PYMYSQL_ERROR = traceback.format_exc()

_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


def quote_ident(name):
    return "`%s`" % name.replace("`", "``")


class Server:
    """The statements this module needs, on one root connection."""

    def __init__(self, conn):
        self.conn = conn

    def rows(self, sql, args=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def run(self, sql, args=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)

    def database_exists(self, name):
        return bool(
            self.rows("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        )

    def account(self, user, host):
        found = self.rows(
            "SELECT plugin, authentication_string FROM mysql.user WHERE User = %s AND Host = %s",
            (user, host),
        )
        return found[0] if found else None

    def password_hash(self, password):
        return self.rows("SELECT PASSWORD(%s)", (password,))[0][0]

    def has_all_on(self, user, host, database):
        wanted = "GRANT ALL PRIVILEGES ON %s.*" % quote_ident(database)
        grants = [row[0] for row in self.rows("SHOW GRANTS FOR %s@%s", (user, host))]
        return any(g.startswith(wanted) for g in grants)


def plan(server, p):
    """(description, sql, args) steps that bring the server to the wanted state."""
    steps = []
    db = p["database"]
    if not server.database_exists(db):
        steps.append(
            (
                "create database %s" % db,
                "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" % quote_ident(db),
                (),
            )
        )
    wanted_hash = server.password_hash(p["password"])
    for host in p["user_hosts"]:
        who = "'%s'@'%s'" % (p["user"], host)
        account = server.account(p["user"], host)
        if account is None:
            steps.append(
                (
                    "create user %s" % who,
                    "CREATE USER %s@%s IDENTIFIED BY %s",
                    (p["user"], host, p["password"]),
                )
            )
            grant_missing = True
        else:
            plugin, stored = account
            if plugin not in ("mysql_native_password", "") or stored != wanted_hash:
                steps.append(
                    (
                        "set the password of %s (********)" % who,
                        "ALTER USER %s@%s IDENTIFIED BY %s",
                        (p["user"], host, p["password"]),
                    )
                )
            grant_missing = not server.has_all_on(p["user"], host, db)
        if grant_missing:
            steps.append(
                (
                    "grant all on %s to %s" % (db, who),
                    "GRANT ALL PRIVILEGES ON %s.* TO %%s@%%s" % quote_ident(db),
                    (p["user"], host),
                )
            )
    if p["secure"]:
        for user, host in server.rows(
            "SELECT User, Host FROM mysql.user WHERE User = '' "
            "OR (User = 'root' AND Host NOT IN ('localhost'))"
        ):
            steps.append(("drop user '%s'@'%s'" % (user, host), "DROP USER %s@%s", (user, host)))
        if server.database_exists("test"):
            steps.append(("drop database test", "DROP DATABASE `test`", ()))
        if server.rows("SELECT 1 FROM mysql.db WHERE Db = 'test' OR Db LIKE 'test\\\\_%%'"):
            steps.append(
                (
                    "remove grants on the test databases",
                    "DELETE FROM mysql.db WHERE Db = 'test' OR Db LIKE 'test\\\\_%%'",
                    (),
                )
            )
    return steps


ARGUMENT_SPEC = {
    "login_unix_socket": {"type": "path", "required": True},
    "login_user": {"type": "str", "default": "root"},
    "database": {"type": "str", "required": True},
    "user": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "user_hosts": {"type": "list", "elements": "str", "default": ["%"]},
    "secure": {"type": "bool", "default": True},
}


def check_params(module):
    p = module.params
    if PYMYSQL_ERROR is not None:
        module.fail_json(
            msg="PyMySQL is not importable by this interpreter; install python3-pymysql",
            exception=PYMYSQL_ERROR,
        )
    if not _NAME.match(p["database"]):
        module.fail_json(msg="database %r: use letters, digits, '_' and '$' only" % p["database"])
    if not p["password"]:
        module.fail_json(msg="password is empty; the has-kdc account needs a password")


def connect(module):
    """The root connection over the socket, or the module fails naming the socket."""
    p = module.params
    try:
        return pymysql.connect(
            unix_socket=p["login_unix_socket"],
            user=p["login_user"],
            autocommit=True,
            connect_timeout=5,
            charset="utf8mb4",
        )
    except pymysql.err.MySQLError as exc:
        module.fail_json(
            msg="cannot connect to MariaDB as %s over %s: %s"
            % (p["login_user"], p["login_unix_socket"], exc)
        )


def bootstrap(module, conn):
    """The steps the server needs, run unless in check mode; the connection is closed."""
    try:
        server = Server(conn)
        steps = plan(server, module.params)
        if steps and not module.check_mode:
            for _description, sql, args in steps:
                server.run(sql, args)
            if any(d.startswith("remove grants") for d, _s, _a in steps):
                server.run("FLUSH PRIVILEGES")
    except pymysql.err.MySQLError as exc:
        module.fail_json(msg="MariaDB refused a bootstrap statement: %s" % (exc,))
    finally:
        conn.close()
    return steps


def main():
    module = HasKdcModule(
        argument_spec=ARGUMENT_SPEC, supports_check_mode=True, needs_has_kdc=False
    )
    check_params(module)
    steps = bootstrap(module, connect(module))
    actions = [d for d, _s, _a in steps]
    label = "MariaDB %s" % module.params["login_unix_socket"]
    diff = summary_diff(label, "", "\n".join(actions)) if steps else []
    module.exit_json(changed=bool(steps), actions=actions, diff=diff)


if __name__ == "__main__":
    main()
