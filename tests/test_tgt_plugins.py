"""TGT over HTTPS without a server: hashes, tokens, the MySQL and RAM plugins, rate
limits, and the KDC's ``issue_tgt`` read back by the client's ``decode_tgt_reply``."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from has_kdc.asn1.constants import (
    KDC_ERR_CLIENT_REVOKED,
    KDC_ERR_NAME_EXP,
    KDCOptions,
    TicketFlags,
)
from has_kdc.asn1.messages import EncryptionKey
from has_kdc.backend import BackendUnavailable, PluginUser
from has_kdc.backend.sqlite import SqliteBackend
from has_kdc.client.kdc_client import KdcClient
from has_kdc.client.tgt_client import (
    TgtRequestError,
    ccache_credential,
    decode_tgt_reply,
    default_ccache_name,
)
from has_kdc.crypto import enctype_by_id
from has_kdc.kdc.errors import KdcError
from has_kdc.kdc.issue import HTTPS_TGT_OPTIONS, issue_tgt
from has_kdc.plugins import (
    AuthenticationFailed,
    BadToken,
    ClientPlugin,
    PluginContext,
    PluginUnavailable,
    ServerPlugin,
    available_plugins,
    load_plugin,
)
from has_kdc.plugins.mysql import MySqlClientPlugin, MySqlServerPlugin, check_user_name
from has_kdc.plugins.passwords import (
    ScryptParams,
    hash_password,
    needs_rehash,
    parse_hash,
    verify_password,
)
from has_kdc.plugins.ram import (
    FileRamVerifier,
    RamClientPlugin,
    RamServerPlugin,
    add_ram_credential,
)
from has_kdc.plugins.token import TokenError, decode_token, encode_token
from has_kdc.principal import default_salt
from has_kdc.web.ratelimit import Limit, TokenBuckets, retry_after_header
from tests.kdc_fakes import REALM, START, FakeClock, make_kdc

FAST = ScryptParams(ln=4, r=8, p=1)  # test hashes: the format, not the cost, is tested


# ---------------------------------------------------------------------- password hashes


def test_hash_round_trip_and_format():
    encoded = hash_password("s3cret pässword", params=FAST)
    assert encoded.startswith("$scrypt$ln=4,r=8,p=1$")
    assert "s3cret" not in encoded
    assert verify_password("s3cret pässword", encoded)
    assert not verify_password("s3cret password", encoded)
    assert not verify_password("", encoded)
    params, salt, digest = parse_hash(encoded)
    assert params == FAST and len(salt) == 16 and len(digest) == 32


def test_hash_salts_differ_and_rfc7914_vector():
    assert hash_password("pw", params=FAST) != hash_password("pw", params=FAST)
    # RFC 7914 section 12, second vector: scrypt("password", "NaCl", N=1024, r=8, p=16)
    params = ScryptParams(ln=10, r=8, p=16)
    encoded = hash_password("password", params=params, salt=b"NaCl")
    digest = parse_hash(encoded)[2]
    assert digest.hex().startswith("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e773")


def test_default_params_and_rehash():
    encoded = hash_password("pw", params=FAST)
    assert needs_rehash(encoded)
    assert not needs_rehash(encoded, FAST)
    assert needs_rehash("plain text")


@pytest.mark.parametrize(
    "bad",
    [
        "plaintext",
        "$scrypt$ln=15,r=8$c2FsdA$aGFzaA",
        "$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",  # 2**40: refused
        "$bcrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    ],
)
def test_malformed_hashes_refused_without_echo(bad):
    with pytest.raises(ValueError) as info:
        verify_password("pw", bad)
    assert bad not in str(info.value)


# ---------------------------------------------------------------------- tokens


def test_token_is_an_unsecured_jwt_as_has_sends():
    claims = {"iss": "has", "sub": "alice", "user": "alice", "secret": "pw"}
    token = encode_token(claims)
    header, _payload, signature = token.split(".")
    assert signature == ""
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none"}
    assert decode_token(token) == claims


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "empty"),
        ("a.b", "not a JWT"),
        ("x" * 9000, "longer than"),
        ("!!!.???.", "base64url|not JSON"),
        (encode_token({"a": 1}) + "sig", "only unsecured"),
    ],
)
def test_bad_tokens(token, why):
    with pytest.raises(TokenError, match=why):
        decode_token(token)


def test_signed_token_refused():
    header = base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("=")
    payload = encode_token({"sub": "alice"}).split(".")[1]
    with pytest.raises(TokenError, match="only unsecured"):
        decode_token(f"{header}.{payload}.")
    with pytest.raises(TokenError, match="JSON objects"):
        decode_token(encode_token({}).split(".")[0] + "." + _b64(b"[1]") + ".")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# ---------------------------------------------------------------------- plugins


@pytest.fixture
def store(tmp_path: Path):
    backend = SqliteBackend(tmp_path / "has.sqlite")
    backend.migrate()
    yield backend
    backend.close()


@pytest.fixture
def context(store, tmp_path: Path) -> PluginContext:
    return PluginContext(realm=REALM, conf_dir=tmp_path, backend=lambda: store, clock=lambda: START)


def _token(user: str, secret: str, **extra: object) -> dict:
    return {"iss": "has", "sub": user, "user": user, "secret": secret, **extra}


def test_entry_points_name_both_plugins():
    assert {"MySQL", "RAM"} <= set(available_plugins())
    mysql = load_plugin("mysql")  # HAS's auth_type, case-insensitive
    assert isinstance(mysql.server_plugin(), ServerPlugin)
    assert isinstance(mysql.client_plugin(), ClientPlugin)
    assert load_plugin("RAM").server_plugin().name == "RAM"
    with pytest.raises(LookupError, match="no authentication plugin 'LDAP'"):
        load_plugin("LDAP")


def test_mysql_plugin_accepts_the_right_password(store, context):
    store.put_plugin_user(PluginUser("alice", hash_password("alice-pw", params=FAST)))
    user = MySqlServerPlugin().authenticate(_token("alice", "alice-pw"), context)
    assert user.principal == f"alice@{REALM}"
    assert user.user == "alice"
    assert user.reply_key_material == b"alicealice-pw"  # HAS: passPhrase = user + secret
    assert "alice-pw" not in repr(user)


def test_mysql_plugin_wrong_password_and_unknown_user_look_alike(store, context):
    store.put_plugin_user(PluginUser("alice", hash_password("alice-pw", params=FAST)))
    plugin = MySqlServerPlugin()
    with pytest.raises(AuthenticationFailed) as wrong:
        plugin.authenticate(_token("alice", "guess"), context)
    with pytest.raises(AuthenticationFailed) as unknown:
        plugin.authenticate(_token("mallory", "guess"), context)
    assert str(wrong.value) == str(unknown.value) == "wrong user name or password"
    assert "guess" not in str(wrong.value)


def test_mysql_plugin_disabled_user_refused(store, context):
    store.put_plugin_user(PluginUser("alice", hash_password("pw", params=FAST), disabled=True))
    with pytest.raises(AuthenticationFailed, match="alice is disabled"):
        MySqlServerPlugin().authenticate(_token("alice", "pw"), context)
    with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        MySqlServerPlugin().authenticate(_token("alice", "not-pw"), context)


def test_mysql_plugin_expired_token_and_bad_fields(store, context):
    store.put_plugin_user(PluginUser("alice", hash_password("pw", params=FAST)))
    plugin = MySqlServerPlugin()
    with pytest.raises(AuthenticationFailed, match="expired"):
        plugin.authenticate(_token("alice", "pw", exp=int(START) - 1), context)
    assert plugin.authenticate(_token("alice", "pw", exp=int(START) + 60), context)
    with pytest.raises(BadToken, match="no secret"):
        plugin.authenticate({"user": "alice"}, context)
    with pytest.raises(BadToken, match="not a plugin user name"):
        plugin.authenticate(_token("krbtgt/EXAMPLE.COM", "pw"), context)
    with pytest.raises(BadToken, match="exp claim"):
        plugin.authenticate(_token("alice", "pw", exp="tomorrow"), context)


def test_mysql_plugin_store_down_is_unavailable(tmp_path):
    class Down:
        def get_plugin_user(self, name):
            raise BackendUnavailable("cannot reach db.example:3306: refused")

    ctx = PluginContext(REALM, tmp_path, lambda: Down(), lambda: START)  # type: ignore[arg-type,return-value]
    with pytest.raises(PluginUnavailable, match="cannot read the plugin users"):
        MySqlServerPlugin().authenticate(_token("alice", "pw"), ctx)


def test_user_names():
    assert check_user_name("hdfs") == "hdfs"
    assert check_user_name("svc.etl-01_a") == "svc.etl-01_a"
    for bad in ("", "a/b", "a@R", "-x", ".x", "x" * 65, "a b"):
        with pytest.raises(ValueError):
            check_user_name(bad)


def test_mysql_client_plugin_reads_has_environment_names():
    plugin = MySqlClientPlugin()
    claims = plugin.make_token(None, {"userName": "hdfs", "password": "test"})
    assert (claims["iss"], claims["sub"], claims["user"], claims["secret"]) == (
        "has",
        "hdfs",
        "hdfs",
        "test",
    )
    assert claims["exp"] - claims["iat"] == 3600  # HAS: tokens valid for 60 minutes
    assert plugin.reply_passphrase(claims) == b"hdfstest"
    other = plugin.make_token(None, {"HAS_USER": "bob", "HAS_PASSWORD": "pw"})
    assert other["user"] == "bob"
    asked = []
    prompted = plugin.make_token(None, {}, lambda text, secret: asked.append(secret) or "x")
    assert asked == [False, True] and prompted["user"] == "x"
    with pytest.raises(BadToken, match="set userName"):
        plugin.make_token(None, {})
    with pytest.raises(BadToken, match="set password"):
        plugin.make_token(None, {"userName": "hdfs"})


def test_ram_file_verifier(tmp_path, context):
    path = tmp_path / "ram-credentials.json"
    add_ram_credential(path, "LTAIkey1", "secret-1", "alice", params=FAST)
    add_ram_credential(path, "LTAIkey2", "secret-2", "bob", disabled=True, params=FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "secret-1" not in path.read_text()
    plugin = RamServerPlugin()
    token = {"accessKeyId": "LTAIkey1", "accessKeySecret": "secret-1"}
    user = plugin.authenticate(token, context)
    assert (user.principal, user.user) == (f"alice@{REALM}", "LTAIkey1")
    assert user.reply_key_material == b"LTAIkey1secret-1"
    for bad in (
        {"accessKeyId": "LTAIkey1", "accessKeySecret": "wrong"},
        {"accessKeyId": "LTAIkey2", "accessKeySecret": "secret-2"},  # disabled
        {"accessKeyId": "LTAInone", "accessKeySecret": "secret-1"},
    ):
        with pytest.raises(AuthenticationFailed, match="AccessKey pair is not valid"):
            plugin.authenticate(bad, context)
    os.chmod(path, 0o644)
    with pytest.raises(PluginUnavailable, match="must be 0600"):
        plugin.authenticate(token, context)


def test_ram_missing_store_and_custom_verifier(tmp_path, context):
    with pytest.raises(PluginUnavailable, match="does not exist"):
        FileRamVerifier(tmp_path / "nope.json").verify("a", "b")

    class Cloud:
        def verify(self, key_id: str, secret: str) -> str | None:
            return "carol" if (key_id, secret) == ("AK", "SK") else None

    plugin = RamServerPlugin(verifier=Cloud())
    assert plugin.authenticate({"accessKeyId": "AK", "accessKeySecret": "SK"}, context).principal
    with pytest.raises(AuthenticationFailed):
        plugin.authenticate({"accessKeyId": "AK", "accessKeySecret": "no"}, context)


def test_ram_client_plugin_environment():
    plugin = RamClientPlugin()
    claims = plugin.make_token(None, {"AccessKeyId": "AK", "AccessKeySecret": "SK"})
    assert (claims["accessKeyId"], claims["accessKeySecret"]) == ("AK", "SK")
    sdk = plugin.make_token(
        None, {"ALIBABA_CLOUD_ACCESS_KEY_ID": "AK2", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "SK2"}
    )
    assert plugin.reply_passphrase(sdk) == b"AK2SK2"
    with pytest.raises(BadToken, match="AccessKeySecret"):
        plugin.make_token(None, {"AccessKeyId": "AK"})


# ---------------------------------------------------------------------- rate limits


def test_token_bucket_engages_and_recovers():
    clock = FakeClock(0)
    buckets = TokenBuckets(Limit(3, 0.5), clock=clock)
    for _ in range(3):
        assert buckets.retry_after("alice") == 0
        buckets.take("alice")
    assert buckets.retry_after("alice") == pytest.approx(2.0)
    assert retry_after_header(buckets.retry_after("alice")) == "2"
    assert buckets.retry_after("bob") == 0  # keys are separate
    clock.advance(1.0)
    assert buckets.retry_after("alice") == pytest.approx(1.0)
    clock.advance(1.0)
    assert buckets.retry_after("alice") == 0  # one token back
    buckets.take("alice")
    assert buckets.retry_after("alice") > 0
    clock.advance(60)
    assert buckets.retry_after("alice") == 0
    for _ in range(3):
        assert buckets.allow("alice") == 0
    assert buckets.allow("alice") == pytest.approx(2.0)


# ---------------------------------------------------------------------- issue_tgt


def _reply_key(kdc, user: str, passphrase: bytes) -> tuple[EncryptionKey, bytes]:
    etype = kdc.realm.permitted[0]
    salt = default_salt((user,), REALM)
    return EncryptionKey(etype, enctype_by_id(etype).string_to_key(passphrase, salt, None)), salt


def test_issued_tgt_decrypts_with_the_passphrase_and_gets_service_tickets():
    kdc, _backend, clock = make_kdc()
    key, salt = _reply_key(kdc, "hdfs", b"hdfstest")
    now = int(clock())
    rep = issue_tgt(
        kdc.realm,
        f"hdfs@{REALM}",
        key,
        HTTPS_TGT_OPTIONS,
        clock(),
        till=now + 3600,
        nonce=4242,
        salt=salt,
    )
    answer = {"type": "MySQL", "success": "true", "krbMessage": base64.b64encode(rep).decode()}
    creds = decode_tgt_reply(answer, b"hdfstest", nonce=4242)
    assert creds.client == f"hdfs@{REALM}"  # not in the store: a virtual client, as HAS
    assert creds.server == f"krbtgt/{REALM}@{REALM}"
    assert creds.endtime == now + 3600
    flags = TicketFlags(creds.flags)
    assert TicketFlags.INITIAL in flags and TicketFlags.PRE_AUTHENT in flags
    assert TicketFlags.FORWARDABLE in flags and TicketFlags.PROXIABLE in flags
    with pytest.raises(TgtRequestError, match="cannot decrypt"):
        decode_tgt_reply(answer, b"hdfswrong", nonce=4242)
    with pytest.raises(TgtRequestError, match="nonce differs"):
        decode_tgt_reply(answer, b"hdfstest", nonce=1)

    client = KdcClient(lambda req: kdc.handle(req, "tcp"), REALM, clock=clock)
    ticket = client.get_service_ticket(creds, "host/server.example.com")
    assert ticket.client == f"hdfs@{REALM}"
    entry = ccache_credential(creds)
    assert str(entry.client) == f"hdfs@{REALM}" and entry.starttime == creds.authtime


def test_issue_respects_an_existing_principals_state():
    kdc, backend, clock = make_kdc()
    key, salt = _reply_key(kdc, "alice", b"x")
    backend.modify(f"alice@{REALM}", allow_tix=False)
    clock.advance(2)  # past the principal cache's refresh interval
    with pytest.raises(KdcError) as revoked:
        issue_tgt(kdc.realm, f"alice@{REALM}", key, HTTPS_TGT_OPTIONS, clock(), salt=salt)
    assert revoked.value.code == KDC_ERR_CLIENT_REVOKED
    backend.modify(f"alice@{REALM}", allow_tix=True, expiration=int(clock()) - 10)
    clock.advance(2)
    with pytest.raises(KdcError) as expired:
        issue_tgt(kdc.realm, f"alice@{REALM}", key, HTTPS_TGT_OPTIONS, clock(), salt=salt)
    assert expired.value.code == KDC_ERR_NAME_EXP
    backend.modify(f"alice@{REALM}", expiration=None, max_life=600)
    clock.advance(2)
    rep = issue_tgt(kdc.realm, f"alice@{REALM}", key, HTTPS_TGT_OPTIONS, clock(), salt=salt)
    creds = decode_tgt_reply({"krbMessage": base64.b64encode(rep).decode()}, b"x")
    assert creds.endtime - creds.authtime == 600


def test_issue_refuses_other_realms_and_client_options():
    kdc, _backend, clock = make_kdc()
    key, _salt = _reply_key(kdc, "hdfs", b"x")
    with pytest.raises(KdcError):
        issue_tgt(kdc.realm, "hdfs@OTHER.REALM", key, HTTPS_TGT_OPTIONS, clock())
    with pytest.raises(KdcError):
        issue_tgt(kdc.realm, f"hdfs@{REALM}", key, int(KDCOptions.ENC_TKT_IN_SKEY), clock())


def test_default_ccache_name():
    assert default_ccache_name({}) == f"FILE:/tmp/krb5cc_{os.getuid()}"
    assert default_ccache_name({"KRB5CCNAME": "/x/cc"}) == "FILE:/x/cc"
    assert default_ccache_name({"KRB5CCNAME": "FILE:/x/cc"}) == "FILE:/x/cc"
    with pytest.raises(TgtRequestError, match="only FILE"):
        default_ccache_name({"KRB5CCNAME": "KEYRING:persistent:0"})
