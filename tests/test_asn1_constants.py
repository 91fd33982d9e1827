"""Protocol numbers match the RFCs, and flags use Kerberos bit numbering.

The expected values are the RFC 4120 tables (§5.4.1 KDCOptions, §5.3 TicketFlags,
§7.5 assigned numbers) typed in from the RFC text, not computed from the code.
"""

from __future__ import annotations

import pytest

from has_kdc.asn1 import constants as c

# (name, Kerberos bit number) as listed in RFC 4120 §5.4.1 / §5.3 (+ RFC 6806, 6112)
KDC_OPTION_BITS = [
    ("FORWARDABLE", 1),
    ("FORWARDED", 2),
    ("PROXIABLE", 3),
    ("PROXY", 4),
    ("ALLOW_POSTDATE", 5),
    ("POSTDATED", 6),
    ("RENEWABLE", 8),
    ("OPT_HARDWARE_AUTH", 11),
    ("CANONICALIZE", 15),
    ("DISABLE_TRANSITED_CHECK", 26),
    ("RENEWABLE_OK", 27),
    ("ENC_TKT_IN_SKEY", 28),
    ("RENEW", 30),
    ("VALIDATE", 31),
]
TICKET_FLAG_BITS = [
    ("RESERVED", 0),
    ("FORWARDABLE", 1),
    ("FORWARDED", 2),
    ("PROXIABLE", 3),
    ("PROXY", 4),
    ("MAY_POSTDATE", 5),
    ("POSTDATED", 6),
    ("INVALID", 7),
    ("RENEWABLE", 8),
    ("INITIAL", 9),
    ("PRE_AUTHENT", 10),
    ("HW_AUTHENT", 11),
    ("TRANSITED_POLICY_CHECKED", 12),
    ("OK_AS_DELEGATE", 13),
    ("ENC_PA_REP", 15),
    ("ANONYMOUS", 16),
]


@pytest.mark.parametrize(("name", "bit"), KDC_OPTION_BITS)
def test_kdc_options_bit_positions(name, bit):
    value = c.KDCOptions[name]
    # bit n is bit (7 - n % 8) of byte n // 8 of the 4-byte BIT STRING
    octets = int(value).to_bytes(4, "big")
    assert octets[bit // 8] == 0x80 >> (bit % 8)
    assert sum(bin(b).count("1") for b in octets) == 1


@pytest.mark.parametrize(("name", "bit"), TICKET_FLAG_BITS)
def test_ticket_flag_bit_positions(name, bit):
    octets = int(c.TicketFlags[name]).to_bytes(4, "big")
    assert octets[bit // 8] == 0x80 >> (bit % 8)


def test_flag_values_from_the_wire_keep_unknown_bits():
    value = c.TicketFlags(0x50800000 | 0x1)  # forwardable, proxiable, renewable + bit 31
    assert value & c.TicketFlags.RENEWABLE
    assert int(value) == 0x50800001


def test_message_types_and_application_tags():
    assert (c.KRB_AS_REQ, c.KRB_AS_REP, c.KRB_TGS_REQ, c.KRB_TGS_REP) == (10, 11, 12, 13)
    assert (c.KRB_AP_REQ, c.KRB_AP_REP, c.KRB_CRED, c.KRB_ERROR) == (14, 15, 22, 30)
    assert (c.APP_ENC_AS_REP_PART, c.APP_ENC_TGS_REP_PART) == (25, 26)


def test_pa_and_name_types():
    assert (c.PA_TGS_REQ, c.PA_ENC_TIMESTAMP, c.PA_PW_SALT) == (1, 2, 3)
    assert (c.PA_ETYPE_INFO, c.PA_ETYPE_INFO2, c.PA_PAC_REQUEST) == (11, 19, 128)
    assert (c.PA_FX_COOKIE, c.PA_FX_FAST, c.PA_REQ_ENC_PA_REP) == (133, 136, 149)
    assert (c.NT_PRINCIPAL, c.NT_SRV_INST, c.NT_SRV_HST, c.NT_ENTERPRISE) == (1, 2, 3, 10)


def test_key_usages_rfc4120_7_5_1():
    assert list(range(1, 15)) == [
        c.KU_PA_ENC_TIMESTAMP,
        c.KU_TICKET,
        c.KU_AS_REP_ENC_PART,
        c.KU_TGS_REQ_AUTH_DATA_SESSION_KEY,
        c.KU_TGS_REQ_AUTH_DATA_SUBKEY,
        c.KU_TGS_REQ_AUTH_CKSUM,
        c.KU_TGS_REQ_AUTH,
        c.KU_TGS_REP_ENC_PART_SESSION_KEY,
        c.KU_TGS_REP_ENC_PART_SUBKEY,
        c.KU_AP_REQ_AUTH_CKSUM,
        c.KU_AP_REQ_AUTH,
        c.KU_AP_REP_ENC_PART,
        c.KU_KRB_PRIV_ENC_PART,
        c.KU_KRB_CRED_ENC_PART,
    ]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0, "KDC_ERR_NONE"),
        (6, "KDC_ERR_C_PRINCIPAL_UNKNOWN"),
        (7, "KDC_ERR_S_PRINCIPAL_UNKNOWN"),
        (14, "KDC_ERR_ETYPE_NOSUPP"),
        (24, "KDC_ERR_PREAUTH_FAILED"),
        (25, "KDC_ERR_PREAUTH_REQUIRED"),
        (31, "KRB_AP_ERR_BAD_INTEGRITY"),
        (37, "KRB_AP_ERR_SKEW"),
        (41, "KRB_AP_ERR_MODIFIED"),
        (52, "KRB_ERR_RESPONSE_TOO_BIG"),
        (60, "KRB_ERR_GENERIC"),
        (68, "KDC_ERR_WRONG_REALM"),
    ],
)
def test_error_names(code, name):
    assert c.error_name(code) == name
    assert getattr(c, name) == code


def test_error_names_are_one_per_code_and_unknown_codes_still_print():
    assert len(set(c.ERROR_NAMES.values())) == len(c.ERROR_NAMES)
    assert c.error_name(4242) == "error 4242"
