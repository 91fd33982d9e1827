"""Kerberos V5 protocol numbers, each named once by its RFC name.

Names follow RFC 4120 §7.5 (with the hyphens of the RFC turned into underscores) and,
for the numbers added later, the RFC that assigned them (RFC 6113 FAST, RFC 6806
referrals and PA-REQ-ENC-PA-REP, RFC 6111/6112 well-known and anonymous names) or,
where no RFC names a number MIT and Microsoft both send, MIT's krb5.h spelling.

Flags (``KDCOptions``, ``TicketFlags``, ``APOptions``) are ``enum.IntFlag`` values in
the *Kerberos numbering*: the KerberosFlags BIT STRING is 32 bits long and bit 0 is its
first, most significant bit. As an integer a flag set is those 32 bits read as one
big-endian unsigned number, so Kerberos bit ``n`` is ``1 << (31 - n)``; forwardable(1)
is ``0x40000000`` and the four bytes of the BIT STRING are ``value.to_bytes(4, "big")``.
"""

from __future__ import annotations

import enum
import typing

PVNO = 5  # protocol version number carried in every message (pvno / tkt-vno)

# --- message types (RFC 4120 §7.5.7); also the APPLICATION tag of each message ---
KRB_AS_REQ = 10
KRB_AS_REP = 11
KRB_TGS_REQ = 12
KRB_TGS_REP = 13
KRB_AP_REQ = 14
KRB_AP_REP = 15
KRB_SAFE = 20
KRB_PRIV = 21
KRB_CRED = 22
KRB_ERROR = 30

# APPLICATION tags of the parts that are not messages (RFC 4120 Appendix A)
APP_TICKET = 1
APP_AUTHENTICATOR = 2
APP_ENC_TICKET_PART = 3
APP_ENC_AS_REP_PART = 25
APP_ENC_TGS_REP_PART = 26
APP_ENC_AP_REP_PART = 27
APP_ENC_KRB_PRIV_PART = 28
APP_ENC_KRB_CRED_PART = 29

# --- name types (RFC 4120 §6.2; NT-ENTERPRISE RFC 6806; NT-WELLKNOWN RFC 6111) ---
NT_UNKNOWN = 0
NT_PRINCIPAL = 1
NT_SRV_INST = 2
NT_SRV_HST = 3
NT_SRV_XHST = 4
NT_UID = 5
NT_X500_PRINCIPAL = 6
NT_SMTP_NAME = 7
NT_ENTERPRISE = 10
NT_WELLKNOWN = 11
NT_SRV_HST_DOMAIN = 12

# --- host address types (RFC 4120 §7.5.3) ---
ADDRTYPE_IPV4 = 2
ADDRTYPE_DIRECTIONAL = 3
ADDRTYPE_CHAOSNET = 5
ADDRTYPE_XNS = 6
ADDRTYPE_ISO = 7
ADDRTYPE_DECNET_PHASE_IV = 12
ADDRTYPE_APPLETALK_DDP = 16
ADDRTYPE_NETBIOS = 20
ADDRTYPE_IPV6 = 24

# --- pre-authentication data types (RFC 4120 §7.5.2, RFC 6113, RFC 6806, MIT krb5.h) ---
PA_TGS_REQ = 1
PA_ENC_TIMESTAMP = 2
PA_PW_SALT = 3
PA_ENC_UNIX_TIME = 5
PA_SANDIA_SECUREID = 6
PA_SESAME = 7
PA_OSF_DCE = 8
PA_CYBERSAFE_SECUREID = 9
PA_AFS3_SALT = 10
PA_ETYPE_INFO = 11
PA_SAM_CHALLENGE = 12
PA_SAM_RESPONSE = 13
PA_PK_AS_REQ_OLD = 14
PA_PK_AS_REP_OLD = 15
PA_PK_AS_REQ = 16
PA_PK_AS_REP = 17
PA_ETYPE_INFO2 = 19
PA_USE_SPECIFIED_KVNO = 20
PA_SAM_REDIRECT = 21
PA_GET_FROM_TYPED_DATA = 22
PA_SAM_ETYPE_INFO = 23
PA_ALT_PRINC = 24
PA_SERVER_REFERRAL = 25
PA_SAM_CHALLENGE_2 = 30
PA_SAM_RESPONSE_2 = 31
PA_EXTRA_TGT = 41
PA_PAC_REQUEST = 128  # KERB-PA-PAC-REQUEST (MS-KILE)
PA_FOR_USER = 129  # S4U2Self (MS-SFU)
PA_FX_COOKIE = 133  # RFC 6113
PA_FX_FAST = 136  # RFC 6113
PA_FX_ERROR = 137  # RFC 6113
PA_ENCRYPTED_CHALLENGE = 138  # RFC 6113
PA_OTP_CHALLENGE = 141  # RFC 6560
PA_OTP_REQUEST = 142  # RFC 6560
PA_OTP_PIN_CHANGE = 144  # RFC 6560
# RFC 6806 §11: sent empty in the AS-REQ to ask for it, and echoed in the
# encrypted-pa-data of EncKDCRepPart carrying the checksum of the request.
PA_REQ_ENC_PA_REP = 149
PA_AS_FRESHNESS = 150  # RFC 8070
PA_SPAKE = 151  # MIT SPAKE pre-authentication
PA_PAC_OPTIONS = 167  # MS-KILE

# TYPED-DATA types carried in KRB-ERROR e-data (RFC 4120 §7.5.9, RFC 4556)
TD_PADATA = 22
TD_PKINIT_CMS_CERTIFICATES = 101
TD_KRB_PRINCIPAL = 102
TD_KRB_REALM = 103
TD_TRUSTED_CERTIFIERS = 104
TD_CERTIFICATE_INDEX = 105
TD_APP_DEFINED_ERROR = 106
TD_REQ_NONCE = 107
TD_REQ_SEQ = 108

# --- authorization data types (RFC 4120 §7.5.4, MIT krb5.h) ---
AD_IF_RELEVANT = 1
AD_INTENDED_FOR_SERVER = 2
AD_INTENDED_FOR_APPLICATION_CLASS = 3
AD_KDC_ISSUED = 4
AD_AND_OR = 5
AD_MANDATORY_TICKET_EXTENSIONS = 6
AD_IN_TICKET_EXTENSIONS = 7
AD_MANDATORY_FOR_KDC = 8
AD_CAMMAC = 96
AD_AUTH_INDICATOR = 97
AD_WIN2K_PAC = 128
AD_ETYPE_NEGOTIATION = 129

# --- transited encoding types (RFC 4120 §7.5.5) ---
DOMAIN_X500_COMPRESS = 1

# --- last-request types (RFC 4120 §5.4.2) ---
LR_NONE = 0
LR_INITIAL_TGT = 1
LR_INITIAL = 2
LR_ISSUE_USE_TGT = 3
LR_RENEWAL = 4
LR_REQUEST = 5
LR_PW_EXPTIME = 6
LR_ACCT_EXPTIME = 7

# --- key usage numbers (RFC 4120 §7.5.1, RFC 6113 §5.4/§5.4.6, RFC 6806 §11) ---
KU_PA_ENC_TIMESTAMP = 1  # PA-ENC-TIMESTAMP, client key
KU_TICKET = 2  # EncTicketPart, service key
KU_AS_REP_ENC_PART = 3  # EncASRepPart, client key (or reply key)
KU_TGS_REQ_AUTH_DATA_SESSION_KEY = 4  # enc-authorization-data, TGS session key
KU_TGS_REQ_AUTH_DATA_SUBKEY = 5  # enc-authorization-data, authenticator subkey
KU_TGS_REQ_AUTH_CKSUM = 6  # PA-TGS-REQ authenticator cksum over req-body
KU_TGS_REQ_AUTH = 7  # PA-TGS-REQ Authenticator, TGS session key
KU_TGS_REP_ENC_PART_SESSION_KEY = 8  # EncTGSRepPart, TGS session key
KU_TGS_REP_ENC_PART_SUBKEY = 9  # EncTGSRepPart, authenticator subkey
KU_AP_REQ_AUTH_CKSUM = 10  # AP-REQ Authenticator cksum
KU_AP_REQ_AUTH = 11  # AP-REQ Authenticator, session key
KU_AP_REP_ENC_PART = 12  # EncAPRepPart, session key
KU_KRB_PRIV_ENC_PART = 13
KU_KRB_CRED_ENC_PART = 14
KU_KRB_SAFE_CKSUM = 15
KU_AD_KDC_ISSUED_CKSUM = 19
KU_FAST_REQ_CHKSUM = 50
KU_FAST_ENC = 51
KU_FAST_REP = 52
KU_FAST_FINISHED = 53
KU_ENC_CHALLENGE_CLIENT = 54
KU_ENC_CHALLENGE_KDC = 55
KU_AS_REQ = 56  # PA-REQ-ENC-PA-REP checksum over the AS-REQ (RFC 6806 §11)

# --- error codes (RFC 4120 §7.5.9, RFC 4556, RFC 6113) ---
KDC_ERR_NONE = 0
KDC_ERR_NAME_EXP = 1
KDC_ERR_SERVICE_EXP = 2
KDC_ERR_BAD_PVNO = 3
KDC_ERR_C_OLD_MAST_KVNO = 4
KDC_ERR_S_OLD_MAST_KVNO = 5
KDC_ERR_C_PRINCIPAL_UNKNOWN = 6
KDC_ERR_S_PRINCIPAL_UNKNOWN = 7
KDC_ERR_PRINCIPAL_NOT_UNIQUE = 8
KDC_ERR_NULL_KEY = 9
KDC_ERR_CANNOT_POSTDATE = 10
KDC_ERR_NEVER_VALID = 11
KDC_ERR_POLICY = 12
KDC_ERR_BADOPTION = 13
KDC_ERR_ETYPE_NOSUPP = 14
KDC_ERR_SUMTYPE_NOSUPP = 15
KDC_ERR_PADATA_TYPE_NOSUPP = 16
KDC_ERR_TRTYPE_NOSUPP = 17
KDC_ERR_CLIENT_REVOKED = 18
KDC_ERR_SERVICE_REVOKED = 19
KDC_ERR_TGT_REVOKED = 20
KDC_ERR_CLIENT_NOTYET = 21
KDC_ERR_SERVICE_NOTYET = 22
KDC_ERR_KEY_EXPIRED = 23
KDC_ERR_PREAUTH_FAILED = 24
KDC_ERR_PREAUTH_REQUIRED = 25
KDC_ERR_SERVER_NOMATCH = 26
KDC_ERR_MUST_USE_USER2USER = 27
KDC_ERR_PATH_NOT_ACCEPTED = 28
KDC_ERR_SVC_UNAVAILABLE = 29
KRB_AP_ERR_BAD_INTEGRITY = 31
KRB_AP_ERR_TKT_EXPIRED = 32
KRB_AP_ERR_TKT_NYV = 33
KRB_AP_ERR_REPEAT = 34
KRB_AP_ERR_NOT_US = 35
KRB_AP_ERR_BADMATCH = 36
KRB_AP_ERR_SKEW = 37
KRB_AP_ERR_BADADDR = 38
KRB_AP_ERR_BADVERSION = 39
KRB_AP_ERR_MSG_TYPE = 40
KRB_AP_ERR_MODIFIED = 41
KRB_AP_ERR_BADORDER = 42
KRB_AP_ERR_BADKEYVER = 44
KRB_AP_ERR_NOKEY = 45
KRB_AP_ERR_MUT_FAIL = 46
KRB_AP_ERR_BADDIRECTION = 47
KRB_AP_ERR_METHOD = 48
KRB_AP_ERR_BADSEQ = 49
KRB_AP_ERR_INAPP_CKSUM = 50
KRB_AP_PATH_NOT_ACCEPTED = 51
KRB_ERR_RESPONSE_TOO_BIG = 52
KRB_ERR_GENERIC = 60
KRB_ERR_FIELD_TOOLONG = 61
KDC_ERROR_CLIENT_NOT_TRUSTED = 62
KDC_ERROR_KDC_NOT_TRUSTED = 63
KDC_ERROR_INVALID_SIG = 64
KDC_ERR_KEY_TOO_WEAK = 65
KDC_ERR_CERTIFICATE_MISMATCH = 66
KRB_AP_ERR_NO_TGT = 67
KDC_ERR_WRONG_REALM = 68
KRB_AP_ERR_USER_TO_USER_REQUIRED = 69
KDC_ERR_CANT_VERIFY_CERTIFICATE = 70
KDC_ERR_INVALID_CERTIFICATE = 71
KDC_ERR_REVOKED_CERTIFICATE = 72
KDC_ERR_REVOCATION_STATUS_UNKNOWN = 73
KDC_ERR_REVOCATION_STATUS_UNAVAILABLE = 74
KDC_ERR_CLIENT_NAME_MISMATCH = 75
KDC_ERR_KDC_NAME_MISMATCH = 76
KDC_ERR_PREAUTH_EXPIRED = 90
KDC_ERR_MORE_PREAUTH_DATA_REQUIRED = 91
KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET = 92
KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS = 93

#: error code → RFC name, e.g. ``ERROR_NAMES[25] == "KDC_ERR_PREAUTH_REQUIRED"``
ERROR_NAMES: dict[int, str] = {
    value: name
    for name, value in list(globals().items())
    if name.startswith(("KDC_ERR_", "KRB_AP_ERR_", "KRB_ERR_", "KDC_ERROR_", "KRB_AP_PATH_"))
    and isinstance(value, int)
}


def error_name(code: int) -> str:
    """The RFC name of a KRB-ERROR code, or ``"error <code>"`` for unassigned numbers."""
    return ERROR_NAMES.get(code, f"error {code}")


def _bit(n: int) -> int:
    """Kerberos bit ``n`` of a 32-bit KerberosFlags (bit 0 = most significant)."""
    return 1 << (31 - n)


class KDCOptions(enum.IntFlag):
    """KDC-REQ-BODY kdc-options (RFC 4120 §5.4.1; canonicalize RFC 6806; bit 16 RFC 6112)."""

    RESERVED = _bit(0)
    FORWARDABLE = _bit(1)
    FORWARDED = _bit(2)
    PROXIABLE = _bit(3)
    PROXY = _bit(4)
    ALLOW_POSTDATE = _bit(5)
    POSTDATED = _bit(6)
    RENEWABLE = _bit(8)
    OPT_HARDWARE_AUTH = _bit(11)
    CNAME_IN_ADDL_TKT = _bit(14)  # MS-SFU constrained delegation
    CANONICALIZE = _bit(15)
    REQUEST_ANONYMOUS = _bit(16)
    DISABLE_TRANSITED_CHECK = _bit(26)
    RENEWABLE_OK = _bit(27)
    ENC_TKT_IN_SKEY = _bit(28)
    RENEW = _bit(30)
    VALIDATE = _bit(31)


class TicketFlags(enum.IntFlag):
    """EncTicketPart / EncKDCRepPart flags (RFC 4120 §5.3; enc-pa-rep RFC 6806; anonymous
    RFC 6112)."""

    RESERVED = _bit(0)
    FORWARDABLE = _bit(1)
    FORWARDED = _bit(2)
    PROXIABLE = _bit(3)
    PROXY = _bit(4)
    MAY_POSTDATE = _bit(5)
    POSTDATED = _bit(6)
    INVALID = _bit(7)
    RENEWABLE = _bit(8)
    INITIAL = _bit(9)
    PRE_AUTHENT = _bit(10)
    HW_AUTHENT = _bit(11)
    TRANSITED_POLICY_CHECKED = _bit(12)
    OK_AS_DELEGATE = _bit(13)
    ENC_PA_REP = _bit(15)
    ANONYMOUS = _bit(16)


class APOptions(enum.IntFlag):
    """AP-REQ ap-options (RFC 4120 §5.5.1)."""

    RESERVED = _bit(0)
    USE_SESSION_KEY = _bit(1)
    MUTUAL_REQUIRED = _bit(2)


_FlagT = typing.TypeVar("_FlagT", KDCOptions, TicketFlags, APOptions)
_NAMED_VALUES: dict[type, frozenset[int]] = {
    cls: frozenset(m.value for m in cls.__members__.values())
    for cls in (KDCOptions, TicketFlags, APOptions)
}


def flags_from_wire(cls: type[_FlagT], value: int) -> _FlagT:
    """``cls(value)`` without growing the enum's cache of value combinations.

    ``enum.Flag`` keeps every combination it has ever built; any unauthenticated
    client could send AS-REQs with all 2**32 option values and grow that cache
    without bound. The member returned stays valid; it is only not remembered.
    """
    member = cls(value)
    if value not in _NAMED_VALUES[cls]:
        cls._value2member_map_.pop(value, None)
    return member
