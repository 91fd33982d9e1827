"""A small HAS/Kerby realm as Kerby's own backends store it, for the import tests.

There is no Kerby KDC in this test suite, so the realm is written here, field by
field, in the exact shapes Kerby's sources give (see tests/data/importing/README.md):
the MySQL tables of both ``MySQLIdentityBackend`` generations (has-project branch:
times as GeneralizedTime text; trunk: BIGINT milliseconds), the MySQL plugin's
``has_user`` table, and the Gson file of ``JsonIdentityBackend``. Keys are what
Kerby would hold: password keys are has-kdc's string-to-key of the listed password
with Kerby's salt (``PrincipalName.makeSalt``: realm then components); the others
("random" keys) are fixed bytes derived from the name, so the files are
reproducible and a test can write the same keys into a keytab, standing in for
Kerby's keytab export.

    .venv/bin/python -m tests.kerby_data     # rewrite tests/data/importing/kerby-*
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from has_kdc.crypto import enctype_by_id
from has_kdc.formats import make_entry, write_keytab
from has_kdc.formats.common import NT_PRINCIPAL, NT_SRV_INST, FormatPrincipal
from has_kdc.principal import default_salt, parse_principal

DATA = Path(__file__).parent / "data" / "importing"
REALM = "HADOOP.COM"
CREATED_MILLIS = 1_700_000_000_000  # 2023-11-14T22:13:20Z
NEVER_MILLIS = 253_402_300_799_900  # what Kerby's kadmin stores for "never"

# Kerby's EncryptionType: IANA number -> (getName() as MySQL stores it, Java constant
# as the JSON map key), for the first constant of each number (EncryptionType.fromValue).
KERBY_NAMES = {
    3: ("des-cbc-md5", "DES_CBC_MD5"),
    16: ("des3-cbc-sha1", "DES3_CBC_SHA1"),
    17: ("aes128-cts-hmac-sha1-96", "AES128_CTS_HMAC_SHA1_96"),
    18: ("aes256-cts-hmac-sha1-96", "AES256_CTS_HMAC_SHA1_96"),
    23: ("arcfour-hmac", "ARCFOUR_HMAC"),
}
_KEY_SIZES = {3: 8, 16: 24, 17: 16, 18: 32, 23: 16}


@dataclass
class Identity:
    """One ``KrbIdentity``: keys from ``password`` if given, else fixed "random" bytes."""

    name: str
    enctypes: tuple[int, ...] = (18, 17)
    kvno: int = 1
    password: str | None = None
    disabled: bool = False
    locked: bool = False
    kdc_flags: int = 0
    expire_millis: int = NEVER_MILLIS
    keys: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        components, realm = parse_principal(self.name)
        for etype in self.enctypes:
            if self.password is not None and etype in (17, 18):
                et = enctype_by_id(etype)
                salt = default_salt(components, realm)
                self.keys[etype] = et.string_to_key(self.password.encode(), salt, et.default_params)
            else:
                seed = hashlib.sha256(f"kerby-test-key/{self.name}/{etype}".encode()).digest()
                self.keys[etype] = (seed * 2)[: _KEY_SIZES[etype]]


IDENTITIES = (
    Identity(f"krbtgt/{REALM}@{REALM}"),
    Identity(f"kadmin/{REALM}@{REALM}"),
    Identity(f"hdfs/node1.hadoop.com@{REALM}"),
    Identity(f"HTTP/node1.hadoop.com@{REALM}", kvno=2),
    Identity(f"alice@{REALM}", kvno=3, password="alice-Kerby-1"),
    Identity(f"legacy@{REALM}", (18, 16, 23), password="legacy-Kerby-1"),
    Identity(f"weakonly@{REALM}", (3, 23)),
    Identity(f"bob@{REALM}", password="bob-Kerby-1", disabled=True),
    Identity(f"carol@{REALM}", password="carol-Kerby-1", locked=True),
    Identity(
        f"dave@{REALM}",
        password="dave-Kerby-1",
        expire_millis=int(datetime(2030, 1, 1, tzinfo=UTC).timestamp()) * 1000,
    ),
    Identity(f"eve@{REALM}", password="eve-Kerby-1", kdc_flags=16),
    Identity("mallory@OTHER.COM", password="mallory-Kerby-1"),
)
#: HAS's MySQL plugin users (has_user: user_name, pass_word), the first as its docs show.
PLUGIN_USERS = (("hdfs", "test"), ("alice", "alice-Plugin-1"))


def identity(name: str) -> Identity:
    return next(i for i in IDENTITIES if i.name == name)


def write_kerby_keytab(path: Path, *names: str) -> Path:
    """A keytab (the 0x0502 format Kerby's ``Keytab`` writes too) with the keys of ``names``."""
    entries = []
    for name in names:
        ident = identity(name)
        components, realm = parse_principal(name)
        kind = NT_SRV_INST if components[0] == "krbtgt" else NT_PRINCIPAL
        principal = FormatPrincipal(kind, realm, components)
        entries += [make_entry(principal, ident.kvno, e, k) for e, k in ident.keys.items()]
    write_keytab(path, entries)
    return path


# ---------------------------------------------------------------- MySQL


def generalized_time(millis: int) -> str:
    """Apache Directory ``GeneralizedTime(Date).toString()``: yyyyMMddHHmmss.SSSZ."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.strftime("%Y%m%d%H%M%S") + f".{millis % 1000:03d}Z"


def _sql_text(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def kerby_mysql_ddl(realm: str, generation: str) -> list[str]:
    """Kerby's tables (``has-project`` or ``trunk`` generation) and HAS's kdc_config row."""
    table = realm.lower()
    times = (
        "expire_time VARCHAR(255) DEFAULT NULL, created_time VARCHAR(255) DEFAULT NULL"
        if generation == "has-project"
        else "created_time BIGINT DEFAULT 0, expire_time BIGINT DEFAULT 0"
    )
    return [
        "CREATE TABLE IF NOT EXISTS `kdc_config` (port INTEGER DEFAULT 88, servers "
        "VARCHAR(255) NOT NULL, initialized bool DEFAULT FALSE, realm VARCHAR(255) "
        "DEFAULT NULL, id INTEGER DEFAULT 1, CHECK (id=1), PRIMARY KEY (id)) ENGINE=INNODB;",
        f"CREATE TABLE IF NOT EXISTS `{table}_identity` (principal varchar(255) NOT NULL, "
        "key_version INTEGER DEFAULT 1, kdc_flags INTEGER DEFAULT 0, disabled bool DEFAULT "
        f"NULL, locked bool DEFAULT NULL, {times}, PRIMARY KEY (principal) ) ENGINE=INNODB "
        "DEFAULT CHARSET=utf8;",
        f"CREATE TABLE IF NOT EXISTS `{table}_key` (key_id INTEGER NOT NULL AUTO_INCREMENT, "
        "key_type VARCHAR(255) DEFAULT NULL, kvno INTEGER DEFAULT -1, key_value BLOB DEFAULT "
        "NULL, principal VARCHAR(255) NOT NULL,PRIMARY KEY (key_id), INDEX (principal), "
        f"FOREIGN KEY (principal) REFERENCES `{table}_identity`(principal) ) ENGINE=INNODB "
        "DEFAULT CHARSET=utf8;",
        "CREATE TABLE has_user(user_name VARCHAR(100), pass_word VARCHAR(100));",
        f"INSERT INTO `kdc_config` (port, servers, realm) VALUES(88, 'node1.hadoop.com', "
        f"'{realm}');",
        "UPDATE `kdc_config` SET initialized = true WHERE id = 1;",
    ]


def kerby_mysql_sql(generation: str) -> str:
    """The tables and rows of a HAS database: ``has-project`` or ``trunk`` generation."""
    table = REALM.lower()
    lines = [
        f"-- HAS/Kerby MySQL backend, {generation} generation; written by tests/kerby_data.py",
        *kerby_mysql_ddl(REALM, generation),
    ]
    for ident in IDENTITIES:
        if generation == "has-project":
            created = _sql_text(generalized_time(CREATED_MILLIS))
            expire = _sql_text(generalized_time(ident.expire_millis))
        else:
            created, expire = str(CREATED_MILLIS), str(ident.expire_millis)
        lines.append(
            f"INSERT INTO `{table}_identity` (principal, key_version, kdc_flags, disabled, "
            f"locked, created_time, expire_time) VALUES({_sql_text(ident.name)}, {ident.kvno}, "
            f"{ident.kdc_flags}, {int(ident.disabled)}, {int(ident.locked)}, {created}, "
            f"{expire});"
        )
        for etype, key in ident.keys.items():
            lines.append(
                f"INSERT INTO `{table}_key` (key_type, kvno, key_value, principal) "
                f"VALUES('{KERBY_NAMES[etype][0]}', {ident.kvno}, X'{key.hex().upper()}', "
                f"{_sql_text(ident.name)});"
            )
    for user, password in PLUGIN_USERS:
        row = f"{_sql_text(user)}, {_sql_text(password)}"
        lines.append(f"INSERT INTO has_user VALUES ({row});")  # noqa: S608 (test data, quoted)
    return "\n".join(lines) + "\n"


def sql_statements(text: str) -> list[str]:
    """The statements of a file written by `kerby_mysql_sql` (one per line, no comments)."""
    return [line for line in text.splitlines() if line and not line.startswith("--")]


# ---------------------------------------------------------------- JSON


def _der_length(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def der_encryption_key(etype: int, key: bytes) -> bytes:
    """DER ``EncryptionKey`` as Kerby's ``KrbCodec.encode`` writes it."""
    keytype = b"\x02\x01" + bytes([etype])
    value = b"\x04" + _der_length(len(key)) + key
    body = b"\xa0" + _der_length(len(keytype)) + keytype + b"\xa1" + _der_length(len(value)) + value
    return b"\x30" + _der_length(len(body)) + body


def kerby_json_text() -> str:
    """json-backend.json as Gson (setPrettyPrinting, Kerby's type adapters) writes it."""
    document = {}
    for ident in IDENTITIES:
        document[ident.name] = {
            "principal": ident.name,
            "keyVersion": ident.kvno,
            "kdcFlags": ident.kdc_flags,
            "disabled": ident.disabled,
            "locked": ident.locked,
            "expireTime": str(ident.expire_millis),
            "createdTime": str(CREATED_MILLIS),
            "keys": {
                KERBY_NAMES[etype][1]: {
                    "kvno": ident.kvno,
                    "key": der_encryption_key(etype, key).hex().upper(),
                }
                for etype, key in ident.keys.items()
            },
        }
    return json.dumps(document, indent=2)


FILES = {
    "kerby-mysql-has-project.sql": lambda: kerby_mysql_sql("has-project"),
    "kerby-mysql-trunk.sql": lambda: kerby_mysql_sql("trunk"),
    "kerby-json-backend.json": kerby_json_text,
}


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for name, make in FILES.items():
        (DATA / name).write_text(make())
        print(f"wrote {DATA / name}")


if __name__ == "__main__":
    main()
