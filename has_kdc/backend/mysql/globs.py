"""SQLite's GLOB, exactly, for MySQL: a LIKE for the index, a regex for the meaning."""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["glob_to_like", "glob_to_regex"]


def _glob_tokens(glob: str) -> Iterator[tuple[str, str]]:
    """Split a SQLite-style glob into ('lit', c), ('any', ''), ('one', ''), ('set', regex)."""
    i = 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            yield "any", ""
        elif ch == "?":
            yield "one", ""
        elif ch == "[":
            j = i + 1
            negate = j < len(glob) and glob[j] == "^"
            if negate:
                j += 1
            start = j
            if j < len(glob) and glob[j] == "]":
                j += 1  # a ']' first in the set is a member
            while j < len(glob) and glob[j] != "]":
                j += 1
            if j >= len(glob):  # no closing ']': SQLite matches nothing
                yield "never", ""
                return
            members = glob[start:j]
            parts = []
            k = 0
            while k < len(members):
                if k + 2 < len(members) and members[k + 1] == "-":
                    parts.append(f"{re.escape(members[k])}-{re.escape(members[k + 2])}")
                    k += 3
                else:
                    parts.append(re.escape(members[k]))
                    k += 1
            yield "set", ("[^" if negate else "[") + "".join(parts) + "]"
            i = j
        else:
            yield "lit", ch
        i += 1


def glob_to_regex(glob: str) -> re.Pattern[str]:
    """The exact meaning of a SQLite GLOB (``*``, ``?``, ``[a-z]``, ``[^...]``) as a regex."""
    out = []
    for kind, value in _glob_tokens(glob):
        if kind == "never":
            return re.compile(r"(?!)")
        out.append(
            {"any": ".*", "one": ".", "set": value, "lit": re.escape(value)}[kind]  # type: ignore[index]
        )
    return re.compile("".join(out), re.DOTALL)


def glob_to_like(glob: str) -> str:
    """A LIKE pattern (escape ``\\``) matching a superset of ``glob``, for the index.

    ``?`` and ``[...]`` become ``%``; the regex of ``glob_to_regex`` then keeps the exact
    matches. A pattern starting with literal text uses the name index.
    """
    out = []
    for kind, value in _glob_tokens(glob):
        if kind == "any":
            out.append("%")
        elif kind in ("one", "set"):
            # '_' would match one byte of the VARBINARY name, not one character.
            out.append("%")
        elif kind == "lit":
            out.append("\\" + value if value in "%_\\" else value)
    return "".join(out)
