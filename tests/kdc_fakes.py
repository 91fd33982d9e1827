"""Test doubles for the KDC: an in-memory principal store and a clock that only moves
when told to. The store counts its calls so tests can prove the hot path does not
touch it."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from has_kdc.backend.model import KeyData, Principal
from has_kdc.conf.kdc import KdcConfig
from has_kdc.crypto import enctype_by_id
from has_kdc.kdc.handler import Kdc
from has_kdc.principal import default_salt, parse_principal

REALM = "EXAMPLE.COM"
START = 1_700_000_000.25  # 2023-11-14T22:13:20.25Z
ALL_ETYPES = (18, 17, 20, 19)


class FakeClock:
    """Seconds since the epoch, advanced by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_keys(
    name: str, password: str | None, etypes: Iterable[int] = ALL_ETYPES, kvno: int = 1
) -> list[KeyData]:
    """Keys as kadmin makes them: from a password with the default salt, or random."""
    components, realm = parse_principal(name)
    keys = []
    for etype in etypes:
        et = enctype_by_id(etype)
        if password is None:
            key = et.random_key()
        else:
            key = et.string_to_key(password.encode(), default_salt(components, realm))
        keys.append(KeyData(etype, kvno, key))
    return keys


class MemoryBackend:
    """The ``PrincipalStore`` part of IdentityBackend, in a dict, with call counts."""

    def __init__(self) -> None:
        self._principals: dict[str, Principal] = {}
        self._log: list[tuple[int, str]] = []
        self._counter = 0
        self.calls = {"get_principal": 0, "change_counter": 0, "changes_since": 0}
        self.log_floor = 0  # changes_since(c) for c below this answers None (log pruned)

    # -- what the KDC calls
    def get_principal(self, name: str) -> Principal | None:
        self.calls["get_principal"] += 1
        found = self._principals.get(name)
        return copy.deepcopy(found) if found is not None else None

    def change_counter(self) -> int:
        self.calls["change_counter"] += 1
        return self._counter

    def changes_since(self, counter: int) -> list[str] | None:
        self.calls["changes_since"] += 1
        if counter < self.log_floor:
            return None
        return sorted({name for number, name in self._log if number > counter})

    # -- what tests call
    def put(self, principal: Principal) -> Principal:
        self._counter += 1
        self._log.append((self._counter, principal.name))
        self._principals[principal.name] = principal
        return principal

    def add(
        self,
        name: str,
        password: str | None = None,
        *,
        etypes: Iterable[int] = ALL_ETYPES,
        kvno: int = 1,
        **attributes: object,
    ) -> Principal:
        principal = Principal(
            name=name, kvno=kvno, keys=make_keys(name, password, etypes, kvno), **attributes
        )
        return self.put(principal)

    def modify(self, name: str, **attributes: object) -> Principal:
        principal = copy.deepcopy(self._principals[name])
        for key, value in attributes.items():
            setattr(principal, key, value)
        return self.put(principal)

    def delete(self, name: str) -> None:
        self._counter += 1
        self._log.append((self._counter, name))
        del self._principals[name]

    def reset_calls(self) -> None:
        for key in self.calls:
            self.calls[key] = 0


def standard_realm(backend: MemoryBackend) -> None:
    """krbtgt, a user needing preauth (alice / alice-pw), one that does not
    (bob / bob-pw), and a host service with random keys."""
    backend.add(f"krbtgt/{REALM}@{REALM}", requires_preauth=False)
    backend.add(f"alice@{REALM}", "alice-pw")
    backend.add(f"bob@{REALM}", "bob-pw", requires_preauth=False)
    backend.add(f"host/server.example.com@{REALM}", requires_preauth=False)


def make_kdc(
    backend: MemoryBackend | None = None,
    clock: FakeClock | None = None,
    **config: object,
) -> tuple[Kdc, MemoryBackend, FakeClock]:
    if backend is None:
        backend = MemoryBackend()
        standard_realm(backend)
    clock = clock or FakeClock()
    settings: dict[str, object] = {"kdc_realm": REALM}
    settings.update(config)
    kdc = Kdc(KdcConfig(**settings), backend, clock)  # type: ignore[arg-type]
    return kdc, backend, clock
