"""schema.py (what both DER paths of has_kdc.asn1 are driven by) and spec.py (the
pyasn1 model, written apart from the RFC's module) describe the same types: every
SEQUENCE has the same fields in the same order, under the same context tags, with
the same OPTIONAL marks, holding the same kinds of values, inside the same
APPLICATION tags. The differential tests then compare two independent readings of
RFC 4120, not one reading twice.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyasn1.type import char, namedtype, tag, univ, useful

from has_kdc.asn1 import codec, schema
from has_kdc.asn1.schema import Flags, Leaf, Sequence, SequenceOf, Type

#: The pyasn1 class of each leaf of the schema (the model's own subclasses of them,
#: Int32, KerberosString, KerberosTime, ..., are instances of these).
LEAF_CLASSES: dict[Leaf, type] = {
    schema.INTEGER: univ.Integer,
    schema.OCTET_STRING: univ.OctetString,
    schema.KERBEROS_STRING: char.GeneralString,
    schema.GENERAL_STRING_BYTES: char.GeneralString,
    schema.KERBEROS_TIME: useful.GeneralizedTime,
    schema.BOOLEAN: univ.Boolean,
}


def outer_tag(asn1_object: Any) -> tag.Tag:
    """The outermost tag of a pyasn1 object: an explicit tag is added last."""
    outer: tag.Tag = asn1_object.tagSet[-1]
    return outer


def check(t: Type, model: Any, where: str) -> None:
    """``t`` describes the value ``model`` (a pyasn1 object without its explicit tag)."""
    if isinstance(t, Leaf):
        assert isinstance(model, LEAF_CLASSES[t]), where
        if t is schema.OCTET_STRING:  # a GeneralString is an OctetString to pyasn1
            assert not isinstance(model, char.AbstractCharacterString), where
    elif isinstance(t, Flags):
        assert isinstance(model, univ.BitString), where
    elif isinstance(t, SequenceOf):
        assert isinstance(model, univ.SequenceOf), where
        check(t.item, model.componentType, f"{where} item")
    else:
        assert isinstance(model, univ.Sequence), where
        check_fields(t, model.componentType, where)


def check_fields(t: Sequence, model_fields: namedtype.NamedTypes, where: str) -> None:
    fields = model_fields.namedTypes
    assert [f.name for f in t.fields] == [nt.name for nt in fields], where
    for f, nt in zip(t.fields, fields, strict=True):
        at = f"{where}.{f.name}"
        assert isinstance(nt, namedtype.OptionalNamedType) == f.optional, at
        explicit = outer_tag(nt.asn1Object)
        assert explicit.tagClass == tag.tagClassContext, at
        assert explicit.tagId == f.tag, at
        check(f.type, nt.asn1Object, at)


def model_classes(t: Sequence) -> dict[int | None, type]:
    """The model's class of ``t`` by APPLICATION number (None: no APPLICATION tag)."""
    factory = codec._SPECS[t.cls]
    if isinstance(factory, dict):
        return dict(factory)
    return {t.application[0] if t.application else None: factory}


@pytest.mark.parametrize("t", list(schema.SEQUENCES.values()), ids=lambda t: t.name)
def test_every_sequence_matches_the_model(t: Sequence) -> None:
    classes = model_classes(t)
    assert set(classes) == (set(t.application) or {None})
    for number, cls in classes.items():
        model = cls()
        check_fields(t, model.componentType, t.name)
        outer = outer_tag(model)
        if number is None:
            assert outer.tagClass == tag.tagClassUniversal, t.name
        else:
            assert (outer.tagClass, outer.tagId) == (tag.tagClassApplication, number), t.name


def test_every_dataclass_of_messages_has_a_description() -> None:
    from has_kdc.asn1 import messages

    described = set(schema.SEQUENCES)
    classes = {
        value
        for name, value in vars(messages).items()
        if isinstance(value, type) and value.__module__ == messages.__name__
    }
    assert described <= classes
    assert set(codec._SPECS) == described


def test_a_field_the_schema_names_is_an_attribute_of_its_dataclass() -> None:
    for t in schema.SEQUENCES.values():
        attrs = set(t.cls.__dataclass_fields__)
        for f in t.fields:
            assert f.attr in attrs, (t.name, f.name)
            if f.der_attr:
                assert f.der_attr in attrs, (t.name, f.der_attr)
        for extra in (t.der_attr, t.application_attr):
            assert extra is None or extra in attrs, (t.name, extra)


def test_a_mismatch_is_seen() -> None:
    """The check itself fails on a description that differs from the model."""
    changed = Sequence(
        "EncryptedData",
        schema.ENCRYPTED_DATA.cls,
        (
            schema.Field(0, "etype", schema.INTEGER),
            schema.Field(1, "kvno", schema.INTEGER),  # OPTIONAL in the RFC
            schema.Field(2, "cipher", schema.OCTET_STRING),
        ),
    )
    with pytest.raises(AssertionError):
        check_fields(changed, model_classes(schema.ENCRYPTED_DATA)[None]().componentType, "x")
