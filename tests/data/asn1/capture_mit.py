"""Re-capture the MIT packets in this folder (see README.md): run from the checkout as
``.venv/bin/python -m tests.data.asn1.capture_mit``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.mitkrb import MitClient, MitRealm
from tests.packet_relay import PacketRelay

HERE = Path(__file__).parent
NAMES = [
    ("mit-as-req-no-preauth.der", "mit-krb-error-preauth-required.der"),
    ("mit-as-req-enc-timestamp.der", "mit-as-rep.der"),
    ("mit-tgs-req.der", "mit-tgs-rep.der"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        realm = MitRealm(Path(tmp) / "mit")
        realm.create()
        realm.addprinc("user", "user-pw")
        realm.addprinc("HTTP/svc.mit.test", "svc-pw")
        realm.start()
        try:
            with PacketRelay((realm.host, realm.port)) as relay:
                client = MitClient(Path(tmp) / "client", realm.realm, [f"127.0.0.1:{relay.port}"])
                client.kinit("user", "user-pw")
                client.kvno("HTTP/svc.mit.test")
        finally:
            realm.stop()
    if len(relay.exchanges) != len(NAMES):
        raise SystemExit(f"expected {len(NAMES)} exchanges, relay saw {len(relay.exchanges)}")
    for (req_name, rep_name), exchange in zip(NAMES, relay.exchanges, strict=True):
        (HERE / req_name).write_bytes(exchange.request)
        (HERE / rep_name).write_bytes(exchange.reply)
        print(f"{req_name} ({len(exchange.request)} bytes), {rep_name} ({len(exchange.reply)})")


if __name__ == "__main__":
    main()
