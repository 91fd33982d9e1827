"""JSON as HAS's tools read it: the lenient grammar of org.json's ``JSONTokener``.

HAS reads the hosts file of ``creprincs`` and ``keytab deploy`` with org.json, which
takes more than JSON, and has-start.md writes it that way (``{ HOSTS: [ ... ] }``).
Accepted here as there: keys and plain values without quotes (``{name: host1}``),
single-quoted strings, ``=`` or ``=>`` for ``:``, ``;`` for ``,``, a trailing
separator before ``}`` or ``]``, and an empty array slot as null. Unquoted
``true``/``false``/``null`` and numbers are typed as org.json types them. Standard JSON
reads the same as with ``json.loads``.
"""

from __future__ import annotations

import builtins  # ``object`` is also a method of _Reader below

__all__ = ["loads"]

# org.json ends an unquoted value at any of these (JSONTokener.nextValue)
_STOP = frozenset(',:]}/\\"[{;=#')
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}
_MAX_DEPTH = 64


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> ValueError:
        line = self.text.count("\n", 0, self.pos) + 1
        return ValueError(f"{what} at line {line}, character {self.pos + 1}")

    def next_clean(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            self.pos += 1
            if c > " ":
                return c
        return ""

    def peek_clean(self) -> str:
        """The next character that is not white space, left unread ('' at the end)."""
        c = self.next_clean()
        if c:
            self.pos -= 1
        return c

    def string(self, quote: str) -> str:
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text) or text[self.pos] in "\n\r":
                raise self.fail("unterminated string")
            c = text[self.pos]
            self.pos += 1
            if c == quote:
                return "".join(out)
            if c != "\\":
                out.append(c)
                continue
            if self.pos >= len(text):
                raise self.fail("unterminated string")
            e = text[self.pos]
            self.pos += 1
            if e == "u":
                digits = text[self.pos : self.pos + 4]
                if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                    raise self.fail("bad \\u escape")
                out.append(chr(int(digits, 16)))
                self.pos += 4
            elif e in _ESCAPES:
                out.append(_ESCAPES[e])
            elif e in "\"'\\/":
                out.append(e)
            else:
                raise self.fail(f"bad escape \\{e}")

    def value(self, depth: int = 0) -> object:
        if depth > _MAX_DEPTH:
            raise self.fail("nested too deeply")
        c = self.next_clean()
        if c in ('"', "'"):
            return self.string(c)
        if c == "{":
            return self.object(depth + 1)
        if c == "[":
            return self.array(depth + 1)
        if c == "":
            raise self.fail("missing value")
        start = end = self.pos - 1
        while end < len(self.text) and self.text[end] >= " " and self.text[end] not in _STOP:
            end += 1
        self.pos = end
        word = self.text[start:end].strip()
        if not word:
            raise self.fail("missing value")
        return _typed(word)

    def object(self, depth: int) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.peek_clean() == "}":
            self.next_clean()
            return out
        while True:
            if self.peek_clean() == "":
                raise self.fail("an object must end with '}'")
            key = self.value(depth)
            if isinstance(key, dict | list):
                raise self.fail("a key must be a name")
            sep = self.next_clean()
            if sep == "=":
                if self.text[self.pos : self.pos + 1] == ">":
                    self.pos += 1
            elif sep != ":":
                raise self.fail("expected ':' after a key")
            out["null" if key is None else _text(key)] = self.value(depth)
            c = self.next_clean()
            if c in (",", ";"):
                if self.peek_clean() == "}":
                    self.next_clean()
                    return out
            elif c == "}":
                return out
            else:
                raise self.fail("expected ',' or '}'")

    def array(self, depth: int) -> list[builtins.object]:
        out: list[object] = []
        if self.peek_clean() == "]":
            self.next_clean()
            return out
        while True:
            c = self.peek_clean()
            if c == "":
                raise self.fail("an array must end with ']'")
            out.append(None if c == "," else self.value(depth))
            c = self.next_clean()
            if c in (",", ";"):
                if self.peek_clean() == "]":
                    self.next_clean()
                    return out
            elif c == "]":
                return out
            else:
                raise self.fail("expected ',' or ']'")


def _text(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _typed(word: str) -> object:
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if word[0] in "0123456789-":
        try:
            return int(word)
        except ValueError:
            try:
                return float(word)
            except ValueError:
                return word
    return word


def loads(text: str) -> object:
    """One value, as org.json's ``new JSONObject(text)`` / ``JSONArray`` read it;
    ValueError (with line and character) for what org.json would refuse too."""
    reader = _Reader(text)
    value = reader.value()
    if reader.next_clean() != "":
        raise reader.fail("unexpected text after the value")
    return value
