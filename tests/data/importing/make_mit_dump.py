"""Re-make ``mit-1.20.dump`` and ``mit-1.20.stash`` (see README.md) with the real MIT tools:
run from the checkout as ``.venv/bin/python -m tests.data.importing.make_mit_dump``.

Times, random keys and the master key change on every run; the tests rely only on
what README.md lists (names, passwords, salts, kvnos, flags).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tests.mitkrb import MitRealm

HERE = Path(__file__).parent
REALM = "HADOOP.COM"
ENCTYPES = (
    "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal "
    "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal "
    "des3-cbc-sha1:normal arcfour-hmac:normal"
)
#: kadmin.local queries, in order (README.md lists what each leaves in the dump).
QUERIES = (
    "addprinc -pw alice-MIT-1 alice",
    "addprinc -randkey host/app.hadoop.com",
    "setstr host/app.hadoop.com session_enctypes aes256-cts",
    "modprinc +ok_as_delegate host/app.hadoop.com",
    "addprinc -e aes256-cts:norealm -pw norealm-MIT-1 norealm",
    "addprinc -e aes128-cts:onlyrealm -pw onlyrealm-MIT-1 onlyrealm",
    "addprinc -pw renamed-MIT-1 before",
    "renprinc -force before after",
    "addprinc -pw kv-MIT-1 kv",
    "cpw -pw kv-MIT-2 -keepold kv",
    "addpol -minlength 8 strict",
    "addprinc -policy strict -pw policy-MIT-1 withpolicy",
    "addprinc -pw locked-MIT-1 -allow_tix locked",
    "addprinc -pw nofwd-MIT-1 -allow_forwardable +needchange nofwd",
    'addprinc -pw temp-MIT-1 -expire "2030-01-01 00:00:00 UTC" temp',
    "addprinc -pw short-MIT-1 -maxlife 10h -requires_preauth short",
    "addprinc -e des3-cbc-sha1:normal,arcfour-hmac:normal -pw weak-MIT-1 weakonly",
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        realm = MitRealm(Path(tmp) / "mit", REALM, supported_enctypes=ENCTYPES)
        realm.create()
        for query in QUERIES:
            realm.kadmin(query)
        realm.run("kdb5_util", "-r", REALM, "dump", str(HERE / "mit-1.20.dump"))
        (HERE / "mit-1.20.dump.dump_ok").unlink(missing_ok=True)  # kdb5_util's marker file
        shutil.copyfile(realm.tmp / "stash", HERE / "mit-1.20.stash")
    print(f"wrote {HERE / 'mit-1.20.dump'} and {HERE / 'mit-1.20.stash'}")


if __name__ == "__main__":
    main()
