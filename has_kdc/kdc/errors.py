"""Why a KDC request failed: one exception carrying everything the KRB-ERROR needs.

AS and TGS processing raise ``KdcError`` at the first check that fails; the handler
turns it into a KRB-ERROR (``krb_error.py``) and a log line. Three things travel
together because MIT keeps them together:

- ``code``: the RFC 4120 error code the client acts on (25 makes kinit prompt for a
  password, 24 makes it print "Password incorrect");
- ``status``: MIT's short status string (``NEEDED_PREAUTH``, ``CLIENT_NOT_FOUND``,
  ...). MIT's krb5kdc logs it *and* sends it as the KRB-ERROR e-text, so an operator
  grepping logs, and a Java client printing e-text, see the same words as with MIT;
- ``e_data``: the METHOD-DATA hints for PREAUTH_REQUIRED / PREAUTH_FAILED.

Messages never carry key bytes, passwords or plaintext.
"""

from __future__ import annotations

import time

from has_kdc.asn1.codec import encode
from has_kdc.asn1.constants import error_name
from has_kdc.asn1.der import content_span, element_span
from has_kdc.asn1.memo import ENTRY_OVERHEAD, Memo
from has_kdc.asn1.messages import KrbError, PrincipalName

__all__ = [
    "MIT_ERROR_MESSAGES",
    "KdcError",
    "build_krb_error",
    "error_message",
]

#: MIT's com_err texts for the protocol codes (src/lib/krb5/error_tables/krb5_err.et):
#: what MIT kinit prints for each code, used in our log lines so they read the same.
MIT_ERROR_MESSAGES: dict[int, str] = {
    0: "No error",
    1: "Client's entry in database has expired",
    2: "Server's entry in database has expired",
    3: "Requested protocol version not supported",
    6: "Client not found in Kerberos database",
    7: "Server not found in Kerberos database",
    8: "Principal has multiple entries in Kerberos database",
    9: "Client or server has a null key",
    10: "Ticket is ineligible for postdating",
    11: "Requested effective lifetime is negative or too short",
    12: "KDC policy rejects request",
    13: "KDC can't fulfill requested option",
    14: "KDC has no support for encryption type",
    15: "KDC has no support for checksum type",
    16: "KDC has no support for padata type",
    17: "KDC has no support for transited type",
    18: "Client's credentials have been revoked",
    19: "Credentials for server have been revoked",
    20: "TGT has been revoked",
    21: "Client not yet valid - try again later",
    22: "Server not yet valid - try again later",
    23: "Password has expired",
    24: "Preauthentication failed",
    25: "Additional pre-authentication required",
    26: "Requested server and ticket don't match",
    27: "Server principal valid for user2user only",
    29: "A service is not available that is required to process the request",
    31: "Decrypt integrity check failed",
    32: "Ticket expired",
    33: "Ticket not yet valid",
    34: "Request is a replay",
    35: "The ticket isn't for us",
    36: "Ticket/authenticator don't match",
    37: "Clock skew too great",
    38: "Incorrect net address",
    39: "Protocol version mismatch",
    40: "Invalid message type",
    41: "Message stream modified",
    44: "Key version number for principal in key table is incorrect",
    50: "Inappropriate type of checksum in message",
    52: "Response too big for UDP, retry with TCP",
    60: "Generic error (see e-text)",
    61: "Field is too long for this implementation",
    68: "Wrong realm",
}


def error_message(code: int) -> str:
    """MIT's text for ``code`` (its RFC name when MIT has none listed here)."""
    return MIT_ERROR_MESSAGES.get(code) or error_name(code)


class KdcError(Exception):
    """A request the KDC refuses; becomes one KRB-ERROR.

    ``status`` is MIT's status word for the log and the e-text; ``e_data`` is the
    already-encoded e-data (METHOD-DATA) or None. ``echo`` False: the request names
    something no principal can be called (over the length limits, not UTF-8), so the
    KRB-ERROR names the KDC's realm and TGS instead of repeating the request's names
    (MIT repeats them; a 60 KB name would come back as a 60 KB error, three times
    over for a realm).
    """

    def __init__(
        self, code: int, status: str, e_data: bytes | None = None, *, echo: bool = True
    ) -> None:
        # The message is only worded when someone reads it: refusals are the common
        # case (every first kinit gets PREAUTH_REQUIRED) and the handler never needs it.
        self.args = (code, status)  # as Exception.__init__ would set them, without the call
        self.code = code
        self.status = status
        self.e_data = e_data
        self.echo = echo

    def __str__(self) -> str:
        code = self.code
        return f"{self.status}: {error_message(code)} ({error_name(code)}, {code})"


# A KDC sends the same few errors over and over (C_PRINCIPAL_UNKNOWN to the same
# misspelled name, PREAUTH_REQUIRED with the same hints to the same user): between two
# of them only stime and susec change. So everything after susec is encoded once and
# kept by what it is made of, with the headers in front for each size of susec; a
# reply is then those headers, the time, the microseconds and that piece, joined.
# Keyed by names a client chose: bounded in bytes; as many entries as a cluster's
# clients at once (see ``has_kdc.asn1.fast._NAME_MEMO_SIZE``).
_tails = Memo(65536, 8 * 1024 * 1024, 16 * 1024)
#: KerberosTime of the KRB-ERROR range the template writes (the codec refuses the rest)
_TIME_MAX = 253402300799
#: ``[0] pvno 5, [1] msg-type 30`` of every KRB-ERROR
_PVNO_MSG_TYPE = bytes.fromhex("a003020105a10302011e")
#: ``[4]`` around a KerberosTime (GeneralizedTime of 15 octets)
_STIME_HEADER = bytes.fromhex("a411180f")
_last_head: tuple[int, bytes] = (-1, b"")
#: octets of ``_head``: pvno and msg-type, then stime's header and 15 octets
_HEAD_SIZE = len(_PVNO_MSG_TYPE) + len(_STIME_HEADER) + 15


def _length(n: int) -> bytes:
    """DER length octets of ``n`` content octets."""
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


#: ``[5] INTEGER`` headers of a susec of 1, 2 and 3 octets
_SUSEC_HEADERS = (
    b"",
    bytes.fromhex("a5030201"),
    bytes.fromhex("a5040202"),
    bytes.fromhex("a5050203"),
)


def _head(seconds: int) -> bytes:
    """``[0] pvno [1] msg-type [4] stime`` of ``seconds``, worded once per second."""
    global _last_head
    last, der = _last_head
    if last != seconds:
        stime = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(seconds)).encode()
        der = _PVNO_MSG_TYPE + _STIME_HEADER + stime
        _last_head = (seconds, der)
    return der


def _tail(error: KrbError) -> bytes:
    """The DER of ``error``'s fields after susec."""
    der = encode(error)
    start, end = content_span(der, 0)  # [APPLICATION 30] -> SEQUENCE
    q, end = content_span(der, start)
    for _ in range(4):  # pvno, msg-type, stime, susec: MIT's KDC sends no ctime/cusec
        q = element_span(der, q)[1]
    return der[q:end]


def build_krb_error(
    code: int,
    *,
    now: float,
    realm: str,
    sname: PrincipalName,
    crealm: str | None = None,
    cname: PrincipalName | None = None,
    e_text: str | None = None,
    e_data: bytes | None = None,
) -> bytes:
    """One encoded KRB-ERROR as MIT's ``krb5_mk_error`` sends it from the KDC.

    ``stime``/``susec`` are the KDC's time (clients use them to report skew);
    ``realm``/``sname`` name the requested server and ``crealm``/``cname`` the
    client, as in the request. No ctime/cusec: MIT's KDC leaves them out.
    """
    seconds = int(now)
    susec = min(int((now - seconds) * 1_000_000), 999_999)
    if cname is None:
        crealm = None
    e_text = e_text or None
    # the names by their fields: a PrincipalName's own hash is a Python-level call
    key = (
        code,
        realm,
        sname.name_type,
        sname.components,
        crealm,
        None if cname is None else cname.name_type,
        None if cname is None else cname.components,
        e_text,
        e_data,
    )
    try:
        template: tuple[bytes, tuple[bytes, ...]] | None = _tails.get(key)
    except TypeError:  # unhashable (a name's components as a list): no template
        template, templated = None, False
    else:
        templated = 0 <= seconds <= _TIME_MAX and susec >= 0
    if template is None or not templated:
        error = KrbError(
            stime=seconds,
            susec=susec,
            error_code=code,
            realm=realm,
            sname=sname,
            crealm=crealm,
            cname=cname,
            e_text=e_text,
            e_data=e_data,
        )
        if not templated:
            return encode(error)
        template = _template(_tail(error))
        # the tail twice (it holds every value of the key) and a second overhead for
        # the three headers and the two tuples around them (about 250 bytes)
        _tails.remember(key, template, 2 * len(template[0]) + 2 * ENTRY_OVERHEAD)
    tail, prefixes = template
    size = susec.bit_length() // 8 + 1  # 1 to 3 octets: susec < 10**6 < 2**23
    return b"".join(
        (prefixes[size], _head(seconds), _SUSEC_HEADERS[size], susec.to_bytes(size, "big"), tail)
    )


def _template(tail: bytes) -> tuple[bytes, tuple[bytes, ...]]:
    """``tail`` and, by the octets of susec (1 to 3), the headers in front of the head:
    every length in a KRB-ERROR but susec's is fixed once the tail is."""
    prefixes = [b""]
    for size in (1, 2, 3):
        n = _HEAD_SIZE + len(_SUSEC_HEADERS[size]) + size + len(tail)
        sequence = b"\x30" + _length(n)
        prefixes.append(b"\x7e" + _length(len(sequence) + n) + sequence)
    return tail, tuple(prefixes)
