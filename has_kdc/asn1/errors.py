"""The one exception of the ASN.1 layer."""

from __future__ import annotations


class Asn1Error(ValueError):
    """DER that is truncated, garbled, of the wrong type, or a value that cannot be
    encoded. The message names what was expected and, where known, the byte offset.
    It never carries key material."""
