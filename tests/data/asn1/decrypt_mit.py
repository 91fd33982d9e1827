"""Write the plaintexts inside the captured MIT packets of this folder (see README.md):
run from the checkout as ``.venv/bin/python -m tests.data.asn1.decrypt_mit``.

The passwords of the capture realm open them: ``user-pw`` gives the client key
(ETYPE-INFO2 salt of the KRB-ERROR), which opens PA-ENC-TIMESTAMP and the AS-REP
enc-part; that holds the TGT session key, which opens the TGS-REQ authenticator;
``svc-pw`` opens the service ticket of the TGS-REP. ``derive()`` is also what
``tests/test_asn1_fast_differential.py`` checks the stored files against.
"""

from __future__ import annotations

from pathlib import Path

from has_kdc.asn1 import codec
from has_kdc.asn1 import constants as c
from has_kdc.crypto import enctype_by_id

HERE = Path(__file__).parent
USER_PASSWORD = b"user-pw"
SERVICE_PASSWORD = b"svc-pw"
SERVICE_SALT = b"MIT.TESTHTTPsvc.mit.test"


def _padata(items: tuple, padata_type: int) -> bytes:
    return next(p.padata_value for p in items if p.padata_type == padata_type)


def derive() -> dict[str, bytes]:
    """File name → plaintext, decrypted from the stored packets."""

    def read(name: str) -> bytes:
        return (HERE / name).read_bytes()

    error = codec.decode_krb_error(read("mit-krb-error-preauth-required.der"))
    assert error.e_data is not None
    method_data = codec.decode_method_data(error.e_data)
    entry = codec.decode_etype_info2(_padata(method_data, c.PA_ETYPE_INFO2))[0]
    user_et = enctype_by_id(entry.etype)
    user_key = user_et.string_to_key(USER_PASSWORD, entry.salt, entry.s2kparams)

    as_req = codec.decode_kdc_req(read("mit-as-req-enc-timestamp.der"))
    enc_ts = codec.decode_encrypted_data(_padata(as_req.padata, c.PA_ENC_TIMESTAMP))
    pa_enc_ts_enc = user_et.decrypt(user_key, c.KU_PA_ENC_TIMESTAMP, enc_ts.cipher)

    as_rep = codec.decode_kdc_rep(read("mit-as-rep.der"))
    enc_rep_part = user_et.decrypt(user_key, c.KU_AS_REP_ENC_PART, as_rep.enc_part.cipher)
    session_key = codec.decode_enc_kdc_rep_part(enc_rep_part).key

    tgs_req = codec.decode_kdc_req(read("mit-tgs-req.der"))
    ap_req = codec.decode_ap_req(_padata(tgs_req.padata, c.PA_TGS_REQ))
    session_et = enctype_by_id(session_key.keytype)
    authenticator = session_et.decrypt(
        session_key.keyvalue, c.KU_TGS_REQ_AUTH, ap_req.authenticator.cipher
    )

    tgs_rep = codec.decode_kdc_rep(read("mit-tgs-rep.der"))
    svc_et = enctype_by_id(tgs_rep.ticket.enc_part.etype)
    svc_key = svc_et.string_to_key(SERVICE_PASSWORD, SERVICE_SALT, None)
    enc_ticket_part = svc_et.decrypt(svc_key, c.KU_TICKET, tgs_rep.ticket.enc_part.cipher)

    return {
        "mit-pa-enc-ts-enc.der": pa_enc_ts_enc,
        "mit-enc-as-rep-part.der": enc_rep_part,
        "mit-authenticator.der": authenticator,
        "mit-enc-ticket-part.der": enc_ticket_part,
    }


def main() -> None:
    for name, plain in derive().items():
        (HERE / name).write_bytes(plain)
        print(f"{name} ({len(plain)} bytes)")


if __name__ == "__main__":
    main()
