import pytest

from has_kdc.principal import (
    PrincipalNameError,
    default_salt,
    format_principal,
    normalize_principal,
    parse_principal,
)


@pytest.mark.parametrize(
    ("text", "components", "realm"),
    [
        ("alice@HADOOP.COM", ("alice",), "HADOOP.COM"),
        ("HTTP/emr-header-1@HADOOP.COM", ("HTTP", "emr-header-1"), "HADOOP.COM"),
        ("krbtgt/HADOOP.COM@HADOOP.COM", ("krbtgt", "HADOOP.COM"), "HADOOP.COM"),
        (r"a\/b@R", ("a/b",), "R"),
        (r"user\@mail@R", ("user@mail",), "R"),
        (r"back\\slash@R", ("back\\slash",), "R"),
        (r"tab\there@R", ("tab\there",), "R"),
        ("svc/host@REALM/WITH/SLASH", ("svc", "host"), "REALM/WITH/SLASH"),
        (r"a@R\@X", ("a",), "R@X"),
    ],
)
def test_parse(text, components, realm):
    assert parse_principal(text) == (components, realm)


def test_default_realm_only_when_no_at():
    assert parse_principal("hdfs/worker-1", "HADOOP.COM") == (("hdfs", "worker-1"), "HADOOP.COM")
    assert parse_principal("hdfs/worker-1@OTHER.COM", "HADOOP.COM")[1] == "OTHER.COM"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty principal"),
        ("alice", "no realm"),
        ("a@B@C", "more than one '@'"),
        ("alice\\", "lone backslash"),
        ("HTTP/@R", "empty component (number 2)"),
        ("@R", "empty component (number 1)"),
        ("alice@", "empty realm"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(PrincipalNameError) as err:
        parse_principal(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("components", "realm", "text"),
    [
        (("HTTP", "host.example.com"), "EXAMPLE.COM", "HTTP/host.example.com@EXAMPLE.COM"),
        (("a/b", "c@d"), "R", r"a\/b/c\@d@R"),
        (("x\\y",), "R@S/T", r"x\\y@R\@S/T"),
        (("nl\n",), "R", r"nl\n@R"),
    ],
)
def test_format_and_round_trip(components, realm, text):
    assert format_principal(components, realm) == text
    assert parse_principal(text) == (components, realm)


def test_normalize_makes_escapes_uniform():
    # '\x' is MIT's escape of a plain 'x': both spellings are one principal
    assert normalize_principal(r"\alice@R") == "alice@R"
    assert normalize_principal("alice", "HADOOP.COM") == "alice@HADOOP.COM"


def test_default_salt_is_realm_then_components():
    # RFC 3962 test vectors use this salt form: "ATHENA.MIT.EDUraeburn"
    assert default_salt(("raeburn",), "ATHENA.MIT.EDU") == b"ATHENA.MIT.EDUraeburn"
    assert default_salt(("HTTP", "h1"), "R") == b"RHTTPh1"
