"""The MIT harness itself works: kinit against MIT krb5kdc, klist shows the TGT."""

import pytest


@pytest.mark.mit
def test_mit_kinit_and_kvno(mit_realm):
    mit_realm.kinit("user", "user-pw")
    out = mit_realm.klist().stdout
    assert "Default principal: user@MIT.TEST" in out
    assert "krbtgt/MIT.TEST@MIT.TEST" in out
    kvno = mit_realm.kvno("host/service.mit.test").stdout
    assert "host/service.mit.test@MIT.TEST: kvno = 1" in kvno


@pytest.mark.mit
def test_mit_wrong_password(mit_realm):
    proc = mit_realm.kinit("user", "wrong", check=False)
    assert proc.returncode != 0
    assert "Password incorrect" in proc.stderr
