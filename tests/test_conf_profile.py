import subprocess
from pathlib import Path

import pytest

from has_kdc.conf import ConfigError, format_profile, parse_profile, read_profile
from has_kdc.fileio import PUBLIC_MODE, write_atomic

DATA = Path(__file__).parent / "data" / "conf"


def test_debian_krb5_conf():
    profile = read_profile(DATA / "mit" / "krb5.conf")
    assert profile.get("libdefaults", "default_realm") == "ATHENA.MIT.EDU"
    assert profile.get("libdefaults", "rdns") == "false"
    realms = profile.section("realms")
    assert realms.subsection("ATHENA.MIT.EDU").get_all("kdc") == [
        "kerberos.mit.edu",
        "kerberos-1.mit.edu",
        "kerberos-2.mit.edu:88",
    ]
    assert realms.subsection("CSAIL.MIT.EDU").get_all("kdc") == []
    assert profile.get("domain_realm", ".media.mit.edu") == "MEDIA-LAB.MIT.EDU"
    # a comment line between relations of [libdefaults] is not a relation
    assert not any(n.startswith("#") for n in profile.section("libdefaults").names())


def test_mit_example_kdc_conf_with_units_and_comments():
    profile = read_profile(DATA / "mit" / "kdc.conf")
    realm = profile.section("realms").subsection("@MYREALM")
    assert realm.get("max_renewable_life") == "7d 0h 0m 0s"
    assert realm.get("master_key_type") is None  # commented out with '#'
    assert realm.get("default_principal_flags") == "+preauth"
    rel = realm.find("max_life")
    assert (rel.value, rel.line) == ("10h 0m 0s", 11)


def test_has_test_krb5_conf():
    profile = read_profile(DATA / "has-server-test" / "krb5.conf")
    assert profile.section("realms").subsection("HADOOP.COM").get_all("kdc") == ["localhost:8866"]
    assert profile.get("libdefaults", "udp_preference_limit") == "4096"


def test_repeated_tags_sections_merge_and_finals():
    text = """
; semicolon comment
[libdefaults]*
  dns_lookup_kdc = false
  permitted_enctypes = aes256-cts
  permitted_enctypes = aes128-cts
[realms]
  R = {
    kdc = a:88
    kdc = b:88
    admin_server* = a:749
  }*
  R = {
    kdc = c:88
  }
[libdefaults]
  default_realm = R
"""
    profile = parse_profile(text, "t.conf")
    lib = profile.section("libdefaults")
    assert lib.final
    assert lib.get("permitted_enctypes") == "aes256-cts"  # first wins
    assert lib.get_all("permitted_enctypes") == ["aes256-cts", "aes128-cts"]
    assert lib.get("default_realm") == "R"  # second [libdefaults] merged in
    realms = profile.section("realms")
    first = realms.subsection("R")
    assert first.get_all("kdc") == ["a:88", "b:88"]
    assert first.final
    assert first.find("admin_server").final
    assert [r.value.get_all("kdc") for r in realms if r.name == "R"] == [["a:88", "b:88"], ["c:88"]]


def test_quoted_values_and_brace_on_next_line():
    text = (
        '[s]\n  q = "  spaced \\"x\\"\\t"\n  raw = a # not a comment\n'
        "  sub =\n  {\n    k = v\n  }\n"
    )
    profile = parse_profile(text)
    sec = profile.section("s")
    assert sec.get("q") == '  spaced "x"\t'
    assert sec.get("raw") == "a # not a comment"
    assert sec.subsection("sub").get("k") == "v"


def test_sectionless_only_when_allowed():
    text = "kdc_identity_backend = mysql\nmysql_user = has\n"
    with pytest.raises(ConfigError) as err:
        parse_profile(text, "backend.conf")
    assert str(err.value) == (
        "backend.conf:1: relation outside of a section; expected a '[section]' header first"
    )
    profile = parse_profile(text, "backend.conf", allow_sectionless=True)
    assert profile.get("", "mysql_user") == "has"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[a]\n  k = {\n  x = 1\n", 2, "'{' opened here for 'k' is never closed"),
        ("[a]\n}\n", 2, "'}' without a matching '{'"),
        ("[a]\n  just words\n", 2, "expected 'name = value'"),
        ("[a\n", 1, "expected ']'"),
        ('[a]\n k = "open\n', 2, "closing '\"'"),
        ("[a]\n k = {\n[b]\n", 3, "section header inside the '{' block 'k' opened at line 2"),
        ("[a]\n = v\n", 2, "expected 'name = value'"),
    ],
)
def test_syntax_errors_name_file_and_line(text, line, fragment):
    with pytest.raises(ConfigError) as err:
        parse_profile(text, "/etc/krb5.conf")
    assert err.value.line == line
    assert str(err.value).startswith(f"/etc/krb5.conf:{line}: ")
    assert fragment in str(err.value)


def test_unclosed_brace_in_file_points_at_opening_line():
    with pytest.raises(ConfigError) as err:
        read_profile(DATA / "bad" / "krb5-unclosed.conf")
    assert str(err.value).startswith(f"{DATA / 'bad' / 'krb5-unclosed.conf'}:9: ")
    assert "section header inside" in str(err.value)


def test_missing_file_is_config_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        read_profile(tmp_path / "nope.conf")
    assert str(err.value) == f"{tmp_path / 'nope.conf'}: cannot read: No such file or directory"


def test_include_and_includedir(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "10-realm.conf").write_text("[realms]\n R = {\n  kdc = x:88\n }\n")
    (tmp_path / "d" / "skipped~").write_text("[broken\n")
    (tmp_path / "extra").write_text("[libdefaults]\n forwardable = true\n")
    main = tmp_path / "krb5.conf"
    main.write_text(
        f"include {tmp_path / 'extra'}\nincludedir {tmp_path / 'd'}\n[libdefaults]\n"
        " default_realm = R\n"
    )
    profile = read_profile(main)
    assert profile.get("libdefaults", "forwardable") == "true"
    assert profile.get("libdefaults", "default_realm") == "R"
    assert profile.section("realms").subsection("R").get("kdc") == "x:88"


def test_writer_renders_client_krb5_conf():
    text = format_profile(
        {
            "libdefaults": {
                "default_realm": "HADOOP.COM",
                "udp_preference_limit": 4096,
                "rdns": False,
            },
            "realms": {"HADOOP.COM": {"kdc": ["emr-header-1:88", "emr-worker-1:88"]}},
        },
        header="Written by has-kdc",
    )
    assert text == (
        "# Written by has-kdc\n\n"
        "[libdefaults]\n"
        "    default_realm = HADOOP.COM\n"
        "    udp_preference_limit = 4096\n"
        "    rdns = false\n\n"
        "[realms]\n"
        "    HADOOP.COM = {\n"
        "        kdc = emr-header-1:88\n"
        "        kdc = emr-worker-1:88\n"
        "    }\n"
    )


@pytest.mark.parametrize("sample", ["mit/krb5.conf", "mit/kdc.conf", "has-server-test/krb5.conf"])
def test_round_trip(sample):
    first = read_profile(DATA / sample)
    again = parse_profile(format_profile(first))
    assert again.to_mapping() == first.to_mapping()


def test_writer_quotes_what_needs_quoting():
    text = format_profile({"s": {"k": "  lead", "j": '"q', "b": "{"}})
    assert parse_profile(text).section("s").to_mapping() == {"k": "  lead", "j": '"q', "b": "{"}
    with pytest.raises(ValueError, match="cannot be written as a profile tag"):
        format_profile({"s": {"bad tag": "v"}})


@pytest.mark.mit
def test_mit_library_reads_written_file(tmp_path):
    """MIT's own profile parser reads what we write: klist reports our default_ccache_name."""
    conf = tmp_path / "krb5.conf"
    ccache = tmp_path / "cc_from_profile"
    write_atomic(
        conf,
        format_profile(
            {
                "libdefaults": {
                    "default_realm": "HADOOP.COM",
                    "default_ccache_name": f"FILE:{ccache}",
                },
                "realms": {"HADOOP.COM": {"kdc": ["127.0.0.1:1", "127.0.0.2:1"]}},
            }
        ),
        PUBLIC_MODE,
    )
    env = {"KRB5_CONFIG": str(conf), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(["klist"], env=env, capture_output=True, text=True, check=False)
    assert f"No credentials cache found (filename: {ccache})" in ok.stderr
    # and the same tool does reject a broken file, so the check above means something
    bad = tmp_path / "bad.conf"
    bad.write_text("[libdefaults]\n just words\n")
    env["KRB5_CONFIG"] = str(bad)
    broken = subprocess.run(["klist"], env=env, capture_output=True, text=True, check=False)
    assert "configuration file" in broken.stderr
