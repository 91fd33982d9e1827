"""impacket, a second Kerberos client written independently of MIT, against has-server.

impacket builds and parses every message itself (pyasn1 and pycryptodome), so where
MIT's library is forgiving it is strict, and what it accepts is a check of our
encoding rather than of MIT's tolerance. Everything goes through its library API
(``impacket.krb5.kerberosv5``), as its getTGT.py / getST.py scripts use it.

impacket always talks TCP to port 88 (``sendReceive`` has no port parameter in
``getKerberosTGT``/``getKerberosTGS``), so the node listens on port 88 of a spare
loopback address (127.88.x.y; the tests run as root, as CI does).

Two things impacket does wrong, and what we do about them:

- AS-REP enc-part tag: impacket decodes only EncASRepPart ([APPLICATION 25]). MIT's
  krb5kdc sends EncTGSRepPart (26), which RFC 4120 §5.4.2 lets clients tolerate, so
  impacket cannot log in to MIT at all (``test_mit_kdc_rejects_impacket_the_same_way``
  shows it). has-kdc sends 25, as the RFC defines, Heimdal, Kerby and AD do.
- TGS-REQ without an authenticator checksum: impacket's ``getKerberosTGS`` leaves out
  the checksum over the request body that RFC 4120 §3.3.2 says MUST be verified (and
  the request rejected with KRB_AP_ERR_INAPP_CKSUM when it is not there): without it
  anyone who sees one TGS-REQ can resend its authenticator with another body. MIT and
  Heimdal (Samba AD) refuse it with error 50, and so do we; Windows AD accepts it,
  which is why impacket never noticed (impacket PR #2211 adds the checksum). The
  tests show the refusal, then send the same request with the checksum, built from
  impacket's own ASN.1 and crypto, and decrypt the service ticket it brings.
"""

from __future__ import annotations

import datetime
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from impacket.krb5 import constants
from impacket.krb5.asn1 import (
    AP_REQ,
    AS_REP,
    KDC_REQ_BODY,
    TGS_REP,
    TGS_REQ,
    Authenticator,
    EncTGSRepPart,
    EncTicketPart,
    seq_set,
    seq_set_iter,
)
from impacket.krb5.ccache import CCache
from impacket.krb5.crypto import Key, _checksum_table, _enctype_table
from impacket.krb5.kerberosv5 import (
    KerberosError,
    getKerberosTGS,
    getKerberosTGT,
    sendReceive,
)
from impacket.krb5.keytab import Keytab
from impacket.krb5.types import KerberosTime, Principal, Ticket
from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type.univ import noValue

from tests.hasnode import HasNode
from tests.mitkrb import MitRealm

REALM = "HADOOP.COM"
USER, USER_PW = "imp-user", "imp-Passw0rd!"
NOPREAUTH, NOPREAUTH_PW = "imp-nopreauth", "np-Passw0rd!"
SERVICE = "host/service.hadoop.com"
TGS_NAME = f"krbtgt/{REALM}"
KRB_AP_ERR_INAPP_CKSUM = 50
#: RFC 3961/3962 checksum types of the AES enctypes: hmac-sha1-96-aes128/-aes256
CKSUM_OF_ETYPE = {17: 15, 18: 16}
NT_PRINCIPAL = constants.PrincipalNameType.NT_PRINCIPAL.value
NT_SRV_INST = constants.PrincipalNameType.NT_SRV_INST.value
F = constants.TicketFlags


def loopback_with_port_88(third: int) -> str:
    """A 127.88.<third>.y address whose port 88 is free for TCP and UDP."""
    for last in range(1, 255):
        host = f"127.88.{third}.{last}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((host, 88))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind((host, 88))
        except PermissionError:
            pytest.fail("binding port 88 needs root (impacket can only reach a KDC on port 88)")
        except OSError:
            continue
        return host
    raise RuntimeError(f"no address in 127.88.{third}.0/24 has port 88 free")


class Realm:
    """The node, its principals and their keytabs (read with impacket's Keytab)."""

    def __init__(self, tmp: Path) -> None:
        self.host = loopback_with_port_88(random.randrange(1, 255))
        self.node = HasNode(tmp / "has", REALM, host=self.host, port=88)
        self.node.init()
        self.node.start()
        self.node.hadmin("addprinc", "-pw", USER_PW, USER)
        self.node.hadmin("addprinc", "-pw", NOPREAUTH_PW, "-requires_preauth", NOPREAUTH)
        self.node.hadmin("addprinc", "-randkey", SERVICE)
        self.keytab_path = tmp / "all.keytab"
        for name in (USER, NOPREAUTH, TGS_NAME, SERVICE):
            self.node.hadmin("ktadd", "-k", str(self.keytab_path), "-norandkey", name)
        self.keytab = Keytab.loadFile(str(self.keytab_path))

    def key(self, name: str, etype: int) -> Key:
        block = self.keytab.getKey(f"{name}@{REALM}", specificEncType=etype)
        assert block is not None, f"no enctype {etype} key of {name} in the keytab"
        return Key(etype, bytes(block["keyvalue"]["data"]))


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realm]:
    r = Realm(tmp_path_factory.mktemp("impacket"))
    try:
        yield r
    finally:
        r.node.stop()


def user() -> Principal:
    return Principal(USER, type=NT_PRINCIPAL)


def service() -> Principal:
    return Principal(SERVICE, type=NT_SRV_INST)


def decrypt_ticket(ticket_asn1, key: Key) -> EncTicketPart:
    """The EncTicketPart of a Ticket, under the key of its server (usage 2)."""
    assert int(ticket_asn1["enc-part"]["etype"]) == key.enctype
    plain = _enctype_table[key.enctype].decrypt(key, 2, ticket_asn1["enc-part"]["cipher"])
    return decoder.decode(plain, asn1Spec=EncTicketPart())[0]


def flags_of(bits) -> set[str]:
    return {f.name for f in F if f.value < len(bits) and bits[f.value]}


def cname_of(enc) -> str:
    parts = "/".join(str(c) for c in enc["cname"]["name-string"])
    return f"{parts}@{enc['crealm']}"


def error_code(call) -> int:
    with pytest.raises(KerberosError) as info:
        call()
    return info.value.getErrorCode()


# ------------------------------------------------------------------------ AS exchange


@pytest.mark.parametrize("request_pac", [True, False], ids=["pac-requested", "pac-declined"])
def test_tgt_with_password(realm: Realm, request_pac: bool) -> None:
    """Password only: impacket asks for aes256 alone, meets PREAUTH_REQUIRED, takes the
    salt from its PA-ETYPE-INFO2 and sends PA-ENC-TIMESTAMP (beside PA-PAC-REQUEST,
    which we ignore: has-kdc issues no PAC, and impacket does not need one)."""
    tgt, cipher, key, session = getKerberosTGT(
        user(), USER_PW, REALM, "", "", kdcHost=realm.host, requestPAC=request_pac
    )
    assert cipher.enctype == 18 and session.enctype == 18
    # the key impacket derived with the salt we sent is the one in the principal's keys
    assert key.contents == realm.key(USER, 18).contents
    as_rep = decoder.decode(tgt, asn1Spec=AS_REP())[0]
    assert str(as_rep["crealm"]) == REALM
    enc = decrypt_ticket(as_rep["ticket"], realm.key(TGS_NAME, 18))
    assert cname_of(enc) == f"{USER}@{REALM}"
    assert bytes(enc["key"]["keyvalue"]) == session.contents
    assert {"forwardable", "proxiable", "renewable", "initial", "pre_authent"} <= flags_of(
        enc["flags"]
    )
    assert not enc["authorization-data"].hasValue()  # no PAC, whatever was asked


@pytest.mark.parametrize("etype", [18, 17], ids=["aes256", "aes128"])
def test_tgt_with_an_aes_key_from_our_keytab(realm: Realm, etype: int) -> None:
    """impacket's -aesKey: the key itself (from hadmin ktadd), enctype by its length."""
    aes_key = realm.key(USER, etype).contents.hex()
    tgt, cipher, _key, session = getKerberosTGT(
        user(), "", REALM, "", "", aesKey=aes_key, kdcHost=realm.host
    )
    assert cipher.enctype == etype
    as_rep = decoder.decode(tgt, asn1Spec=AS_REP())[0]
    assert int(as_rep["enc-part"]["etype"]) == etype
    enc = decrypt_ticket(as_rep["ticket"], realm.key(TGS_NAME, 18))
    assert cname_of(enc) == f"{USER}@{REALM}" and session.enctype == etype


def test_tgt_without_preauthentication(realm: Realm) -> None:
    """A principal without requires_preauth gets its AS-REP at once; impacket finds the
    salt in the PA-ETYPE-INFO2 of the AS-REP itself."""
    tgt, cipher, key, _session = getKerberosTGT(
        Principal(NOPREAUTH, type=NT_PRINCIPAL), NOPREAUTH_PW, REALM, "", "", kdcHost=realm.host
    )
    assert cipher.enctype == 18 and key.contents == realm.key(NOPREAUTH, 18).contents
    enc = decrypt_ticket(
        decoder.decode(tgt, asn1Spec=AS_REP())[0]["ticket"], realm.key(TGS_NAME, 18)
    )
    assert cname_of(enc) == f"{NOPREAUTH}@{REALM}"
    assert "pre_authent" not in flags_of(enc["flags"])


def test_wrong_password_is_preauth_failed(realm: Realm) -> None:
    call = lambda: getKerberosTGT(user(), "not-it", REALM, "", "", kdcHost=realm.host)  # noqa: E731
    assert error_code(call) == constants.ErrorCodes.KDC_ERR_PREAUTH_FAILED.value == 24


def test_unknown_user_is_client_unknown(realm: Realm) -> None:
    nobody = Principal("imp-nobody", type=NT_PRINCIPAL)
    call = lambda: getKerberosTGT(nobody, "x", REALM, "", "", kdcHost=realm.host)  # noqa: E731
    assert error_code(call) == constants.ErrorCodes.KDC_ERR_C_PRINCIPAL_UNKNOWN.value == 6


def test_rc4_with_an_nt_hash_is_refused(realm: Realm) -> None:
    """An NT hash makes impacket ask for rc4-hmac alone; has-kdc has no RC4 keys."""
    nt_hash = "31d6cfe0d16ae931b73c59d7e0c089c0"
    call = lambda: getKerberosTGT(user(), "", REALM, "", nt_hash, kdcHost=realm.host)  # noqa: E731
    assert error_code(call) == constants.ErrorCodes.KDC_ERR_ETYPE_NOSUPP.value == 14


@pytest.mark.mit
def test_impacket_ccache_is_usable_by_mit(realm: Realm, tmp_path: Path) -> None:
    """impacket's getTGT.py path: the TGT saved with CCache.fromTGT (which reads the
    reply's starttime), then MIT klist reads it and MIT kvno uses it with our KDC."""
    tgt, _cipher, key, session = getKerberosTGT(user(), USER_PW, REALM, "", "", kdcHost=realm.host)
    ccache = CCache()
    ccache.fromTGT(tgt, key, session)
    path = tmp_path / "impacket.ccache"
    ccache.saveFile(str(path))
    mit = realm.node.mit_client(tmp_path / "mit")
    env = {"KRB5CCNAME": f"FILE:{path}"}
    listed = mit.run("klist", env=env).stdout
    assert f"Default principal: {USER}@{REALM}" in listed
    assert f"krbtgt/{REALM}@{REALM}" in listed
    mit.run("kvno", SERVICE, env=env)
    assert f"{SERVICE}@{REALM}" in mit.run("klist", env=env).stdout


# ------------------------------------------------------------------------ TGS exchange


def tgs_req_with_checksum(tgt: bytes, cipher, session: Key, server: Principal) -> bytes:
    """impacket's getKerberosTGS request, plus the authenticator checksum it leaves out:
    a keyed checksum of the session key's enctype over the DER req-body (usage 6)."""
    as_rep = decoder.decode(tgt, asn1Spec=AS_REP())[0]
    ticket = Ticket()
    ticket.from_asn1(as_rep["ticket"])
    tgs_req = TGS_REQ()
    tgs_req["pvno"] = 5
    tgs_req["msg-type"] = int(constants.ApplicationTagNumbers.TGS_REQ.value)
    body = seq_set(tgs_req, "req-body")
    body["kdc-options"] = constants.encodeFlags(
        [
            constants.KDCOptions.forwardable.value,
            constants.KDCOptions.renewable.value,
            constants.KDCOptions.renewable_ok.value,
            constants.KDCOptions.canonicalize.value,
        ]
    )
    seq_set(body, "sname", server.components_to_asn1)
    body["realm"] = REALM
    now = datetime.datetime.now(datetime.UTC)
    body["till"] = KerberosTime.to_asn1(now + datetime.timedelta(days=1))
    body["nonce"] = random.getrandbits(31)
    seq_set_iter(body, "etype", (23, 16, 3, int(cipher.enctype)))  # as getKerberosTGS asks

    authenticator = Authenticator()
    authenticator["authenticator-vno"] = 5
    authenticator["crealm"] = str(as_rep["crealm"])
    client = Principal()
    client.from_asn1(as_rep, "crealm", "cname")
    seq_set(authenticator, "cname", client.components_to_asn1)
    ctype = CKSUM_OF_ETYPE[session.enctype]
    authenticator["cksum"] = noValue
    authenticator["cksum"]["cksumtype"] = ctype
    # over KDC-REQ-BODY itself: the component carries req-body's [4] tag, drop it
    body_der = encoder.encode(body.clone(tagSet=KDC_REQ_BODY.tagSet, cloneValueFlag=True))
    authenticator["cksum"]["checksum"] = _checksum_table[ctype].checksum(session, 6, body_der)
    authenticator["cusec"] = now.microsecond
    authenticator["ctime"] = KerberosTime.to_asn1(now)

    ap_req = AP_REQ()
    ap_req["pvno"] = 5
    ap_req["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    ap_req["ap-options"] = constants.encodeFlags([])
    seq_set(ap_req, "ticket", ticket.to_asn1)
    ap_req["authenticator"] = noValue
    ap_req["authenticator"]["etype"] = session.enctype
    ap_req["authenticator"]["cipher"] = cipher.encrypt(
        session, 7, encoder.encode(authenticator), None
    )
    tgs_req["padata"] = noValue
    tgs_req["padata"][0] = noValue
    tgs_req["padata"][0]["padata-type"] = int(constants.PreAuthenticationDataTypes.PA_TGS_REQ.value)
    tgs_req["padata"][0]["padata-value"] = encoder.encode(ap_req)
    return encoder.encode(tgs_req)


def test_get_kerberos_tgs_without_checksum_is_refused_like_mit(realm: Realm) -> None:
    tgt, cipher, _key, session = getKerberosTGT(user(), USER_PW, REALM, "", "", kdcHost=realm.host)
    call = lambda: getKerberosTGS(service(), REALM, realm.host, tgt, cipher, session)  # noqa: E731
    assert error_code(call) == KRB_AP_ERR_INAPP_CKSUM


@pytest.mark.parametrize("etype", [18, 17], ids=["aes256-tgt", "aes128-tgt"])
def test_service_ticket_decrypts_with_the_service_keytab(realm: Realm, etype: int) -> None:
    tgt, cipher, _key, session = getKerberosTGT(
        user(), "", REALM, "", "", aesKey=realm.key(USER, etype).contents.hex(), kdcHost=realm.host
    )
    reply = sendReceive(tgs_req_with_checksum(tgt, cipher, session, service()), REALM, realm.host)
    tgs_rep = decoder.decode(reply, asn1Spec=TGS_REP())[0]
    plain = cipher.decrypt(session, 8, tgs_rep["enc-part"]["cipher"])
    rep_part = decoder.decode(plain, asn1Spec=EncTGSRepPart())[0]
    # the session key comes from the client's list, the first one we support
    assert int(rep_part["key"]["keytype"]) == etype
    assert "/".join(str(c) for c in tgs_rep["ticket"]["sname"]["name-string"]) == SERVICE
    # impacket's own ccache code takes the TGS-REP (it reads the reply's starttime)
    CCache().fromTGS(reply, session, session)

    enc = decrypt_ticket(tgs_rep["ticket"], realm.key(SERVICE, 18))
    assert cname_of(enc) == f"{USER}@{REALM}"
    assert bytes(enc["key"]["keyvalue"]) == bytes(rep_part["key"]["keyvalue"])
    flags = flags_of(enc["flags"])
    assert {"forwardable", "renewable", "pre_authent"} <= flags
    assert "initial" not in flags
    assert flags == flags_of(rep_part["flags"])


def test_mit_kdc_rejects_impacket_the_same_way(tmp_path: Path) -> None:
    """What MIT krb5kdc does with impacket: its AS-REP (tag 26) breaks impacket's
    decoder; with impacket taught the RFC's tolerance, MIT refuses impacket's
    checksum-less TGS-REQ with error 50, as has-kdc does."""
    host = loopback_with_port_88(random.randrange(1, 255))
    mit = MitRealm(tmp_path / "mit", "MIT.TEST", host=host, port=88)
    mit.create()
    mit.addprinc(USER, USER_PW)
    mit.addprinc("host/service.mit.test")
    mit.start()
    try:
        with pytest.raises(PyAsn1Error, match="64:32:26"):  # [APPLICATION 26]
            getKerberosTGT(user(), USER_PW, "MIT.TEST", "", "", kdcHost=host)
        with pytest.MonkeyPatch.context() as mp:
            from impacket.krb5 import kerberosv5

            # RFC 4120 §5.4.2's tolerance: take [APPLICATION 26] where 25 is expected
            mp.setattr(kerberosv5, "EncASRepPart", EncTGSRepPart)
            tgt, cipher, _key, session = getKerberosTGT(
                user(), USER_PW, "MIT.TEST", "", "", kdcHost=host
            )
        server = Principal("host/service.mit.test", type=NT_SRV_INST)
        call = lambda: getKerberosTGS(server, "MIT.TEST", host, tgt, cipher, session)  # noqa: E731
        assert error_code(call) == KRB_AP_ERR_INAPP_CKSUM
    finally:
        mit.stop()
