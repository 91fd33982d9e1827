"""The MIT profile format (krb5.conf, kdc.conf) and Kerby's INI variant, read and written.

MIT's syntax, as ``krb5.conf(5)`` describes it::

    # comment            ; comment too
    [libdefaults]
        default_realm = HADOOP.COM
    [realms]
        HADOOP.COM = {
            kdc = emr-header-1:88
            kdc = emr-worker-1:88
        }
    [domain_realm]*                  <- '*' marks a section final; tolerated, kept

A tag may repeat; order is kept, and readers take the first value where one is
wanted (as ``profile_get_string`` does) or all of them (``kdc`` lines). Sections
of the same name given twice merge. ``include FILE`` and ``includedir DIR`` pull
in more files as MIT does.

Kerby writes ``backend.conf`` as bare ``key = value`` lines with no section; the
reader accepts that when asked (``allow_sectionless``) and files such lines under
the section named ``""``.

Every relation keeps its line number so that the typed readers built on top can
point at the line of a wrong value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from has_kdc.conf.errors import ConfigError

__all__ = [
    "Profile",
    "Relation",
    "Relations",
    "format_profile",
    "parse_profile",
    "read_profile",
]

_QUOTE_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", "\\": "\\", '"': '"'}
_TAG = re.compile(r"[^\s=\[\]{}]+")
# includedir takes files named as MIT does: letters, digits, '-', '_' or ending in .conf
_INCLUDEDIR_NAME = re.compile(r"^([A-Za-z0-9_-]+|.*\.conf)$")


@dataclass
class Relation:
    """One ``name = value`` line; ``value`` is a string or a ``{ }`` subsection."""

    name: str
    value: str | Relations
    line: int
    source: str
    final: bool = False


class Relations:
    """The ordered relations of one ``[section]`` or one ``{ }`` subsection."""

    def __init__(self, name: str, source: str, line: int, final: bool = False):
        self.name = name
        self.source = source
        self.line = line
        self.final = final
        self.relations: list[Relation] = []

    def __iter__(self) -> Iterator[Relation]:
        return iter(self.relations)

    def __len__(self) -> int:
        return len(self.relations)

    def __repr__(self) -> str:
        return f"Relations({self.name!r}, {len(self.relations)} relations)"

    def names(self) -> list[str]:
        """Tags in first-seen order, each once."""
        return list(dict.fromkeys(r.name for r in self.relations))

    def find(self, name: str) -> Relation | None:
        """The first relation with this tag (for its value and its line number)."""
        for rel in self.relations:
            if rel.name == name:
                return rel
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first string value of ``name``."""
        for rel in self.relations:
            if rel.name == name and isinstance(rel.value, str):
                return rel.value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every string value of ``name``, in file order (e.g. all ``kdc`` lines)."""
        return [r.value for r in self.relations if r.name == name and isinstance(r.value, str)]

    def subsection(self, name: str) -> Relations | None:
        """The first ``name = { ... }`` block."""
        for rel in self.relations:
            if rel.name == name and isinstance(rel.value, Relations):
                return rel.value
        return None

    def to_mapping(self) -> dict[str, object]:
        """Plain data: a tag seen once maps to its value, a repeated tag to a list."""
        out: dict[str, object] = {}
        for rel in self.relations:
            value = rel.value.to_mapping() if isinstance(rel.value, Relations) else rel.value
            if rel.name in out:
                prev = out[rel.name]
                if isinstance(prev, list):
                    prev.append(value)
                else:
                    out[rel.name] = [prev, value]
            else:
                out[rel.name] = value
        return out


class Profile:
    """A parsed file: its sections by name, in file order."""

    def __init__(self, source: str):
        self.source = source
        self.sections: dict[str, Relations] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.sections

    def __repr__(self) -> str:
        return f"Profile({self.source!r}, sections={list(self.sections)})"

    def section(self, name: str) -> Relations | None:
        return self.sections.get(name)

    def get(self, section: str, name: str, default: str | None = None) -> str | None:
        """First string value of ``name`` in ``[section]``."""
        sec = self.sections.get(section)
        return default if sec is None else sec.get(name, default)

    def to_mapping(self) -> dict[str, dict[str, object]]:
        return {name: sec.to_mapping() for name, sec in self.sections.items()}


def _parse_quoted(text: str, source: str, lineno: int) -> str:
    """A ``"..."`` value with MIT's escapes; text after the closing quote is ignored."""
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out)
        if ch == "\\" and i + 1 < len(text):
            out.append(_QUOTE_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ConfigError("expected a closing '\"' for the quoted value", source, lineno)


def _strip_final(text: str) -> tuple[str, bool]:
    text = text.rstrip()
    if text.endswith("*"):
        return text[:-1].rstrip(), True
    return text, False


class _Parser:
    def __init__(self, profile: Profile, allow_sectionless: bool, depth: int):
        self.profile = profile
        self.allow_sectionless = allow_sectionless
        self.depth = depth

    def parse(self, text: str, source: str) -> None:
        section: Relations | None = None
        stack: list[Relations] = []  # open { } blocks, innermost last
        pending: Relation | None = None  # 'tag =' waiting for a '{' on the next line
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if pending is not None:
                if line.startswith("{"):
                    sub = Relations(pending.name, source, pending.line)
                    pending.value = sub
                    stack.append(sub)
                    pending = None
                    continue
                pending = None  # it was an empty value after all; keep ""
            if line.startswith("["):
                if stack:
                    raise ConfigError(
                        f"section header inside the '{{' block '{stack[0].name}' opened at "
                        f"line {stack[0].line}; expected '}}' first",
                        source,
                        lineno,
                    )
                section = self._section_header(line, source, lineno)
                continue
            if line.startswith("}"):
                rest, final = _strip_final(line[1:])
                if not stack:
                    raise ConfigError("'}' without a matching '{'", source, lineno)
                if rest:
                    raise ConfigError(
                        f"expected nothing after '}}', found {rest!r}", source, lineno
                    )
                stack.pop().final = final
                continue
            if not stack and self._directive(line, source, lineno):
                continue
            target = stack[-1] if stack else section
            if target is None:
                if not self.allow_sectionless:
                    raise ConfigError(
                        "relation outside of a section; expected a '[section]' header first",
                        source,
                        lineno,
                    )
                target = self.profile.sections.get("")
                if target is None:
                    target = self.profile.sections[""] = Relations("", source, lineno)
                section = target
            rel, opens = self._relation(line, source, lineno)
            target.relations.append(rel)
            if opens:
                assert isinstance(rel.value, Relations)
                stack.append(rel.value)
            elif rel.value == "":
                pending = rel
        if stack:
            raise ConfigError(
                f"'{{' opened here for '{stack[-1].name}' is never closed; expected '}}'",
                source,
                stack[-1].line,
            )

    def _section_header(self, line: str, source: str, lineno: int) -> Relations:
        close = line.find("]")
        if close < 0:
            raise ConfigError("expected ']' to end the section header", source, lineno)
        name = line[1:close].strip()
        rest, final = _strip_final(line[close + 1 :])
        if not name:
            raise ConfigError("empty section name in '[]'", source, lineno)
        if rest:
            raise ConfigError(f"expected nothing after ']', found {rest!r}", source, lineno)
        section = self.profile.sections.get(name)
        if section is None:
            section = self.profile.sections[name] = Relations(name, source, lineno, final)
        section.final = section.final or final
        return section

    def _directive(self, line: str, source: str, lineno: int) -> bool:
        word, _, arg = line.partition(" ")
        if word not in ("include", "includedir", "module") or not arg.strip():
            return False
        arg = arg.strip()
        if word == "module":
            raise ConfigError(
                "'module' directives (profile plugins) are not supported", source, lineno
            )
        if self.depth >= 8:
            raise ConfigError("include nesting deeper than 8 files", source, lineno)
        target = Path(arg)
        if not target.is_absolute():
            raise ConfigError(f"'{word}' needs an absolute path, got {arg!r}", source, lineno)
        files = [target]
        if word == "includedir":
            try:
                names = sorted(os.listdir(target))
            except OSError as exc:
                raise ConfigError(
                    f"cannot list includedir {arg}: {exc.strerror}", source, lineno
                ) from None
            files = [
                target / n for n in names if _INCLUDEDIR_NAME.match(n) and (target / n).is_file()
            ]
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read included file {path}: {exc.strerror}", source, lineno
                ) from None
            _Parser(self.profile, self.allow_sectionless, self.depth + 1).parse(text, str(path))
        return True

    def _relation(self, line: str, source: str, lineno: int) -> tuple[Relation, bool]:
        match = _TAG.match(line)
        rest = line[match.end() :].lstrip() if match else line
        if not match or (not rest.startswith("=") and not rest.startswith("*")):
            raise ConfigError(_expected_relation(line), source, lineno)
        tag = match.group(0)
        final = False
        if tag.endswith("*"):
            tag, final = tag[:-1], True
        if rest.startswith("*"):
            final = True
            rest = rest[1:].lstrip()
        if not rest.startswith("=") or not tag:
            raise ConfigError(_expected_relation(line), source, lineno)
        value = rest[1:].strip()
        if value == "{":
            sub = Relations(tag, source, lineno)
            return Relation(tag, sub, lineno, source, final), True
        if value.startswith('"'):
            value = _parse_quoted(value, source, lineno)
        return Relation(tag, value, lineno, source, final), False


def parse_profile(
    text: str, source: str = "<string>", *, allow_sectionless: bool = False
) -> Profile:
    """Parse profile text; ``source`` names the file in error messages."""
    profile = Profile(source)
    _Parser(profile, allow_sectionless, 0).parse(text, source)
    return profile


def read_profile(path: str | os.PathLike[str], *, allow_sectionless: bool = False) -> Profile:
    """Read and parse a profile file; an unreadable file is a ``ConfigError`` too."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source) from None
    return parse_profile(text, source, allow_sectionless=allow_sectionless)


# ---------------------------------------------------------------- writing


def _format_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write a {type(value).__name__} as a profile value")
    if "\n" in value or value != value.strip() or value.startswith(('"', "{")):
        escaped = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\t", "\\t")
        )
        return f'"{escaped}"'
    return value


def _check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag) or tag.endswith("*"):
        raise ValueError(f"{tag!r} cannot be written as a profile tag")
    return tag


def _format_relations(data: Mapping[str, object], indent: int, out: list[str]) -> None:
    pad = "    " * indent
    for tag, value in data.items():
        _check_tag(tag)
        values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        for item in values:
            if isinstance(item, Relations):
                item = item.to_mapping()
            if isinstance(item, Mapping):
                out.append(f"{pad}{tag} = {{")
                _format_relations(item, indent + 1, out)
                out.append(f"{pad}}}")
            else:
                out.append(f"{pad}{tag} = {_format_scalar(item)}")


def format_profile(
    data: Profile | Mapping[str, Mapping[str, object]], *, header: str | None = None
) -> str:
    """Render sections as MIT profile text that MIT's own parser reads back unchanged.

    ``data`` maps section names to relations: a value that is a string, int or bool
    becomes one line, a list becomes one line per item (repeated tags such as
    ``kdc``), a mapping becomes a ``{ }`` block. ``header`` lines become ``#`` comments.
    """
    mapping = data.to_mapping() if isinstance(data, Profile) else data
    out: list[str] = []
    if header:
        out.extend(f"# {line}".rstrip() for line in header.splitlines())
        out.append("")
    for name, relations in mapping.items():
        if name == "":
            _format_relations(relations, 0, out)
        else:
            if "]" in name or not name.strip():
                raise ValueError(f"{name!r} cannot be written as a section name")
            out.append(f"[{name}]")
            _format_relations(relations, 1, out)
        out.append("")
    return "\n".join(out)


def _expected_relation(line: str) -> str:
    """Name only the first word of a malformed line: the rest may be a secret value."""
    words = line.strip().split(None, 1)
    first = words[0][:40] if words else ""
    return f"expected 'name = value' after {first!r}"
