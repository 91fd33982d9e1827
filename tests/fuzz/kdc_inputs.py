"""Seeded KDC inputs: random bytes, mutated real requests, truncations, hostile DER.

Everything here is a pure function of a ``random.Random`` and the seed requests, so a
run is reproduced by its seed. The seeds are real requests: the MIT captures in
``tests/data/asn1`` (AS-REQ without and with PA-ENC-TIMESTAMP, a TGS-REQ with FAST
armour) and the requests ``seed_requests`` builds for a live realm with
``bench/packets.py`` (so mutations reach the principal lookups, the pre-authentication
and the TGT decryption, not only the decoder).

Kinds, each a way of breaking a request:

- ``random``: random bytes, sometimes behind an AS-REQ or TGS-REQ tag so they get past
  the first-byte check;
- ``bytes``: a seed with one to four byte-level changes (bit flips, interesting bytes,
  inserted, deleted or repeated runs, a splice of two seeds);
- ``truncated``: a seed cut short (or with bytes appended);
- ``der``: a seed parsed into its DER tree, one node changed, and written back with
  correct lengths: random, huge or non-UTF-8 content, interesting integers, elements
  deleted, repeated (thousands of etypes, components or padata), swapped, re-tagged,
  nested thousands deep;
- ``der-length``: the same tree written back with one bogus length (indefinite,
  non-minimal, too long, too short, 5 to 9 length octets).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "asn1"
#: The captured MIT requests (see tests/data/asn1/README.md).
CAPTURED_REQUESTS = (
    "mit-as-req-no-preauth.der",
    "mit-as-req-enc-timestamp.der",
    "mit-tgs-req.der",
)
#: Largest UDP payload; the TCP record limit of the KDC is 128 KiB.
MAX_DATAGRAM = 65507
KINDS = ("random", "bytes", "truncated", "der", "der-length")

_INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x1B, 0x30, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFF)
_INTERESTING_INTS = (
    0,
    -1,
    1,
    127,
    128,
    -128,
    255,
    2**31 - 1,
    -(2**31),
    2**31,
    2**32,
    2**63,
    -(2**63),
    10**40,
)


def captured_requests() -> list[bytes]:
    return [(DATA / name).read_bytes() for name in CAPTURED_REQUESTS]


# --- a DER tree that can be changed and written back ---------------------------------


@dataclass
class Node:
    """One DER element: identifier octets, and children (constructed) or content.

    ``der`` holds the element as written, for a node not changed since it was parsed
    (so writing a changed tree only works on the path to what changed). A ``frozen``
    node stands for bytes made at once (an element repeated a thousand times, one
    nested a thousand deep): it is written as is and not offered to further changes.
    Trees are never changed in place: ``with_path`` copies the path to a node first.
    """

    tag: bytes
    children: list[Node] | None = None
    content: bytes = b""
    der: bytes | None = field(default=None, repr=False)
    frozen: bool = False
    #: A length encoding to write instead of the right one (``der-length`` inputs).
    bogus_length: bytes | None = field(default=None, repr=False)

    def paths(self) -> list[tuple[int, ...]]:
        """Paths (child indices) to every node that may be changed, this one first."""
        out: list[tuple[int, ...]] = [()]
        for i, child in enumerate(self.children or ()):
            if not child.frozen:
                out.extend((i, *rest) for rest in child.paths())
        return out

    def with_path(self, path: tuple[int, ...]) -> tuple[Node, Node]:
        """A copy of this tree sharing everything but the nodes on ``path``, and the
        copy of the node at its end (free to change)."""
        root = self._shallow()
        node = root
        for i in path:
            assert node.children is not None
            child = node.children[i]._shallow()
            node.children[i] = child
            node = child
        return root, node

    def _shallow(self) -> Node:
        children = None if self.children is None else list(self.children)
        return Node(self.tag, children, self.content)


def parse_tree(data: bytes) -> Node:
    """The DER tree of ``data`` (which must be one well-formed element)."""
    node, end = _parse(data, 0, len(data))
    if end != len(data):
        raise ValueError("trailing bytes after the element")
    return node


def _parse(data: bytes, pos: int, end: int) -> tuple[Node, int]:
    start = pos
    pos += 1
    if data[start] & 0x1F == 0x1F:
        while data[pos] & 0x80:
            pos += 1
        pos += 1
    tag = data[start:pos]
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    stop = pos + length
    if stop > end:
        raise ValueError("element runs past its parent")
    if data[start] & 0x20:
        children = []
        while pos < stop:
            child, pos = _parse(data, pos, stop)
            children.append(child)
        return Node(tag, children, der=data[start:stop]), stop
    return Node(tag, None, data[pos:stop], der=data[start:stop]), stop


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


def serialize(node: Node) -> bytes:
    if node.der is not None:
        return node.der
    if node.children is None:
        content = node.content
    else:
        content = b"".join([serialize(c) for c in node.children])
    length = node.bogus_length if node.bogus_length is not None else encode_length(len(content))
    return node.tag + length + content


def frozen(der: bytes) -> Node:
    return Node(b"", der=der, frozen=True)


# --- the generator ----------------------------------------------------------------------


@dataclass
class InputGenerator:
    """Inputs of every kind from ``seeds``, reproducibly from ``rng``."""

    seeds: Sequence[bytes]
    rng: random.Random
    #: Largest input made (UDP: ``MAX_DATAGRAM``; TCP records may be larger).
    max_size: int = MAX_DATAGRAM
    _trees: list[Node] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("an input generator needs at least one seed request")
        self._trees = [parse_tree(s) for s in self.seeds]
        self._paths = [t.paths() for t in self._trees]
        self._makers: dict[str, Callable[[], bytes]] = {
            "random": self.random_bytes,
            "bytes": self.byte_mutation,
            "truncated": self.truncation,
            "der": self.der_mutation,
            "der-length": self.der_length_mutation,
        }

    def make(self, kind: str) -> bytes:
        data = self._makers[kind]()
        return data[: self.max_size]

    def next(self) -> tuple[str, bytes]:
        """One input of a kind chosen at random (mutations of real requests weigh most)."""
        kind = self.rng.choices(KINDS, weights=(1, 3, 1, 4, 1))[0]
        return kind, self.make(kind)

    # -- kinds

    def random_bytes(self) -> bytes:
        rng = self.rng
        size = rng.choice((0, 1, 2, 3, 4, 8, 16, 64, 200, 1000, 4000, rng.randrange(70000)))
        data = bytearray(rng.randbytes(size))
        if data and rng.random() < 0.6:
            data[0] = rng.choice((0x6A, 0x6C))  # AS-REQ, TGS-REQ: past the first-byte check
            if len(data) > 2 and rng.random() < 0.5:
                # a plausible length too, so the decoder reads on
                header = bytes((data[0],)) + encode_length(len(data) - 2)
                data[: len(header)] = header
        return bytes(data)

    def byte_mutation(self) -> bytes:
        rng = self.rng
        data = bytearray(rng.choice(self.seeds))
        for _ in range(rng.choice((1, 1, 1, 2, 3, 4))):
            if not data:
                break
            op = rng.randrange(7)
            i = rng.randrange(len(data))
            if op == 0:
                data[i] ^= 1 << rng.randrange(8)
            elif op == 1:
                data[i] = rng.choice(_INTERESTING_BYTES)
            elif op == 2:
                data[i:i] = rng.randbytes(rng.choice((1, 2, 4, 16, 128)))
            elif op == 3:
                del data[i : i + rng.choice((1, 2, 4, 16, 128))]
            elif op == 4:
                run = data[i : i + rng.choice((1, 4, 16, 64))]
                data[i:i] = run * rng.choice((1, 2, 10, 100))
            elif op == 5:
                other = rng.choice(self.seeds)
                j = rng.randrange(len(other))
                data = data[:i] + bytearray(other[j:])
            else:
                data[i] = rng.randrange(256)
        return bytes(data)

    def truncation(self) -> bytes:
        rng = self.rng
        data = rng.choice(self.seeds)
        if rng.random() < 0.8:
            return data[: rng.randrange(len(data))]
        return data + rng.randbytes(rng.choice((1, 2, 100)))

    def der_mutation(self) -> bytes:
        rng = self.rng
        which = rng.randrange(len(self._trees))
        tree, paths = self._trees[which], self._paths[which]
        for left in range(rng.choice((1, 1, 1, 2, 3)), 0, -1):
            tree = self._mutate_tree(tree, paths)
            if left > 1:
                paths = tree.paths()
        return serialize(tree)

    def der_length_mutation(self) -> bytes:
        rng = self.rng
        which = rng.randrange(len(self._trees))
        tree, node = self._trees[which].with_path(rng.choice(self._paths[which]))
        content_length = _content_length(node)
        node.bogus_length = rng.choice(
            (
                b"\x80",  # indefinite: not DER
                b"\x81" + bytes((content_length & 0x7F,)),  # long form where short is due
                b"\x82\x00" + bytes((content_length & 0xFF,)),
                encode_length(content_length + rng.choice((1, 2, 100, 70000))),
                encode_length(max(0, content_length - rng.choice((1, 2, 100)))),
                b"\x84\xff\xff\xff\xff",
                b"\x85\x00\x00\x00\x00\x10",
                b"\x89" + b"\xff" * 9,
                b"\xff",
                b"",
            )
        )
        return serialize(tree)

    # -- tree changes

    def _mutate_tree(self, tree: Node, paths: list[tuple[int, ...]]) -> Node:
        rng = self.rng
        path = rng.choice(paths)
        op = rng.randrange(9)
        if op == 8:
            # (the most useful change, weighed double) new content for a leaf
            leaves = [p for p in paths if _at(tree, p).children is None]
            path = rng.choice(leaves) if leaves else path
        tree, node = tree.with_path(path)
        if op in (0, 8) and node.children is None:
            node.content = self._content_for(node)
        elif op == 1 and node.children:
            del node.children[rng.randrange(len(node.children))]
        elif op == 2 and node.children:
            # many copies of one child: thousands of etypes, components, padata
            i = rng.randrange(len(node.children))
            one = serialize(node.children[i])
            count = min(rng.choice((2, 10, 100, 1000, 5000)), self.max_size // len(one) + 1)
            node.children[i] = frozen(one * count)
        elif op == 3 and node.children and len(node.children) > 1:
            i, j = rng.sample(range(len(node.children)), 2)
            node.children[i], node.children[j] = node.children[j], node.children[i]
        elif op == 4:
            node.tag = self._other_tag(node.tag)
        elif op == 5:
            # nested deep: SEQUENCE { SEQUENCE { ... node ... } }
            inner = serialize(node)
            headers = []
            size = len(inner)
            for _ in range(rng.choice((2, 20, 60, 60, 1000))):
                header = b"\x30" + encode_length(size)
                headers.append(header)
                size += len(header)
            nested = b"".join(reversed(headers)) + inner
            node.tag, node.children, node.der, node.frozen = b"\x30", None, nested, True
        elif op == 6 and node.children is not None:
            # a constructed element read as a primitive one
            node.content = b"".join([serialize(c) for c in node.children])
            node.children = None
            node.tag = bytes((node.tag[0] & ~0x20 & 0xFF,)) + node.tag[1:]
        elif op == 7:
            # an element from somewhere else (any seed) in this one's place
            which = rng.randrange(len(self._trees))
            other = _at(self._trees[which], rng.choice(self._paths[which]))
            node.tag, node.children, node.content = other.tag, other.children, other.content
            node.der = other.der
        return tree

    def _content_for(self, leaf: Node) -> bytes:
        rng = self.rng
        tag = leaf.tag[0] if leaf.tag else 0
        if tag == 0x02 and rng.random() < 0.7:  # INTEGER
            value = rng.choice(_INTERESTING_INTS)
            size = max(1, (value.bit_length() + 8) // 8)
            return value.to_bytes(size, "big", signed=True) if rng.random() < 0.9 else b""
        if tag == 0x1B and rng.random() < 0.7:  # GeneralString: names and realms
            return rng.choice(
                (
                    b"\xff\xfe",  # not UTF-8
                    b"user\xc3\x28",  # a bad UTF-8 continuation
                    "é".encode() * rng.choice((1, 600)),
                    b"a" * rng.choice((0, 255, 256, 1024, 1025, 4000, 60000)),
                    b"\x00\n\r\x1b[31m",  # control characters, for the log
                    b"a/b@c\\",
                    b"%s%n%x",
                )
            )
        if tag == 0x18 and rng.random() < 0.7:  # GeneralizedTime
            return rng.choice(
                (
                    b"19700101000000Z",
                    b"99991231235959Z",
                    b"00000000000000Z",
                    b"20231301000000Z",
                    b"2023010100000Z",
                    b"20230101000000.5Z",
                    b"20230101000000+0100",
                    b"",
                )
            )
        if tag == 0x03 and rng.random() < 0.7:  # BIT STRING (KerberosFlags)
            return rng.choice((b"", b"\x00", b"\x08\xff", b"\x00" + b"\xff" * 4, b"\x07" * 40))
        size = rng.choice((0, 1, 2, 16, 32, 100, 1000, 30000))
        return rng.randbytes(size)

    def _other_tag(self, tag: bytes) -> bytes:
        rng = self.rng
        first = tag[0]
        choice = rng.randrange(5)
        if choice == 0:
            return bytes((first ^ 0x20,)) + tag[1:]  # constructed bit flipped
        if choice == 1:
            return bytes(((first & 0xE0) | ((first + 1) & 0x1F),))  # next tag number
        if choice == 2:
            return rng.choice((b"\x1f\x81\x00", b"\x9f\xff\xff\xff\x7f", b"\x3f\x00"))  # high-tag
        if choice == 3:
            return bytes((rng.randrange(256),))
        return rng.choice((b"\x30", b"\x31", b"\x04", b"\x1b", b"\x02", b"\x05", b"\x6a", b"\x6c"))


def _at(tree: Node, path: tuple[int, ...]) -> Node:
    node = tree
    for i in path:
        assert node.children is not None
        node = node.children[i]
    return node


def _content_length(node: Node) -> int:
    if node.children is None:
        return len(node.content)
    return sum(len(serialize(c)) for c in node.children)
