"""Long-term keys for a principal: from a password, or random, in every configured enctype.

A password key uses MIT's "normal" salt (RFC 4120 section 4: the realm followed by
every name component) and each enctype's default s2kparams (4096 PBKDF2 iterations
for RFC 3962, 32768 for RFC 8009, as MIT's ``kdb5_util``/``kadmin`` make them). Both
are stored with the key, not left implicit: the KDC sends exactly what made the key
in PA-ETYPE-INFO2, and a later ``renprinc`` or a change of defaults cannot strand a
password.

A random key gets no salt (``None``): there is no password to salt, and the KDC
announces the name's default salt for it, as MIT does.

Every function here returns fresh key material and logs nothing.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from has_kdc.backend import KeyData, Principal
from has_kdc.crypto import enctype_by_id
from has_kdc.principal import default_salt, parse_principal

__all__ = ["keys_made_from", "password_keys", "random_keys", "salt_for"]


def salt_for(name: str) -> bytes:
    """The MIT "normal" salt of a canonical principal name."""
    components, realm = parse_principal(name)
    return default_salt(components, realm)


def password_keys(name: str, password: str, enctypes: Iterable[int], kvno: int) -> list[KeyData]:
    """Keys of ``name`` derived from ``password``, one per enctype, all at ``kvno``."""
    salt = salt_for(name)
    secret = password.encode("utf-8")
    keys = []
    for etype in enctypes:
        enctype = enctype_by_id(etype)
        params = enctype.default_params
        keys.append(
            KeyData(
                enctype=etype,
                kvno=kvno,
                key=enctype.string_to_key(secret, salt, params),
                salt=salt,
                s2kparams=params,
            )
        )
    return keys


def random_keys(enctypes: Iterable[int], kvno: int) -> list[KeyData]:
    """Fresh random keys (the OS CSPRNG), one per enctype, all at ``kvno``."""
    return [
        KeyData(enctype=etype, kvno=kvno, key=enctype_by_id(etype).random_key())
        for etype in enctypes
    ]


def keys_made_from(principal: Principal, password: str) -> bool:
    """Whether every current key of ``principal`` derives from ``password``.

    This is what lets ``update_password: always`` leave a principal alone whose keys
    the password already made: a re-key would only bump the kvno and strand keytabs.
    Each key is derived again with the salt and s2kparams stored beside it; a random
    key (no salt) was made by no password.
    """
    keys = principal.keys_for_kvno()
    if not keys:
        return False
    secret = password.encode("utf-8")
    for key in keys:
        if key.salt is None:
            return False
        enctype = enctype_by_id(key.enctype)
        derived = enctype.string_to_key(
            secret, key.salt or salt_for(principal.name), key.s2kparams or enctype.default_params
        )
        if not hmac.compare_digest(derived, key.key):
            return False
    return True
