"""n-fold against every RFC 3961 appendix A.1 vector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from has_kdc.crypto import CryptoError, nfold

VECTORS = json.loads((Path(__file__).parent / "data/crypto/rfc3961_nfold.json").read_text())


def test_vector_file_has_every_appendix_a1_case() -> None:
    assert VECTORS["source"].startswith("RFC 3961")
    assert len(VECTORS["vectors"]) == 11


@pytest.mark.parametrize(
    "vector", VECTORS["vectors"], ids=lambda v: f"{v['bits']}-fold({v['input']!r})"
)
def test_rfc3961_nfold(vector: dict) -> None:
    assert vector["bits"] % 8 == 0
    out = nfold(vector["input"].encode("ascii"), vector["bits"] // 8)
    assert out.hex() == vector["output"]


@pytest.mark.parametrize("bad", [b"", "kerberos"])
def test_nfold_rejects_bad_input(bad: object) -> None:
    with pytest.raises(CryptoError):
        nfold(bad, 16)  # type: ignore[arg-type]


@pytest.mark.parametrize("nbytes", [0, -1])
def test_nfold_rejects_bad_length(nbytes: int) -> None:
    with pytest.raises(CryptoError, match="output length"):
        nfold(b"kerberos", nbytes)
