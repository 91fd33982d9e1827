"""HAS's own INI files: has-server.conf, has-client.conf, hadmin.conf, ssl-*.conf.

HAS reads these with Kerby's ``IniConfigLoader`` and looks a key up first among the
lines before any section header, then in the key's section (``HasConfig.getString(key,
useDefault, "HAS")``). So both shapes HAS documentation shows are the same file::

    [HAS]                                https_host = emr-header-1
      https_host = emr-header-1          https_port = 8092
      https_port = 8092                  auth_type = RAM
    [PLUGIN]
      auth_type = RAM

The lines are parsed by the MIT profile parser (``allow_sectionless``), which keeps
the file and line of every value. On top of it this module applies HAS's lookup
order and the checks HAS leaves out: a key this project does not know is warned
about with its file:line (it may be a typo of a key that matters), a key that sits
in another key's section is read and warned about, a key given twice is warned
about and the last value wins (Kerby's loader overwrites).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from has_kdc.conf.errors import ConfigError
from has_kdc.conf.profile import Profile, Relation, Relations, parse_profile, read_profile

__all__ = [
    "HasIniValues",
    "collect_values",
    "format_has_ini",
    "parse_has_ini",
    "parse_host",
    "parse_host_list",
    "parse_name",
    "parse_path",
    "parse_port",
    "read_has_ini",
]

log = logging.getLogger("has_kdc.conf")

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_NAME = re.compile(r"^[^\s,;=]+$")


@dataclass
class HasIniValues:
    """The values of one HAS INI file, each with the line it came from."""

    source: str
    base: Path
    relations: dict[str, Relation]

    def get(self, key: str) -> Relation | None:
        return self.relations.get(key)


def _base_dir(source: str) -> Path:
    return Path(source).parent if source and not source.startswith("<") else Path.cwd()


def collect_values(profile: Profile, keys: Mapping[str, str]) -> HasIniValues:
    """Pick each known key's value in HAS's lookup order: sectionless lines, then its section.

    ``keys`` maps each key to its home section (``"HAS"``, ``"PLUGIN"``; ``""`` for files
    such as ssl-server.conf that have no sections).
    """
    sections = {home for home in keys.values() if home}
    top: dict[str, Relation] = {}
    homed: dict[str, Relation] = {}
    for name, section in profile.sections.items():
        if name and name not in sections:
            log.warning(
                "%s:%d: section [%s] is not used by has-kdc and is ignored (expected %s)",
                section.source,
                section.line,
                name,
                ", ".join(f"[{s}]" for s in sorted(sections)) or "no sections",
            )
            continue
        target = top if name == "" else homed
        for rel in section:
            _take(rel, name, keys, target)
    for key, rel in top.items():
        if key in homed:
            log.warning(
                "%s:%d: %s is also set at line %d before any section header; that value wins",
                *_at(homed[key]),
                key,
                rel.line,
            )
    return HasIniValues(profile.source, _base_dir(profile.source), {**homed, **top})


def _take(
    rel: Relation, section: str, keys: Mapping[str, str], target: dict[str, Relation]
) -> None:
    where = f"[{section}]" if section else "the lines before any section"
    if isinstance(rel.value, Relations):
        raise ConfigError(f"{rel.name}: expected one value, found a '{{ }}' block", *_at(rel))
    if rel.name not in keys:
        log.warning("%s:%d: unknown setting %r in %s is ignored", *_at(rel), rel.name, where)
        return
    home = keys[rel.name]
    if section and section != home:
        log.warning(
            "%s:%d: %s belongs under [%s], found in [%s]; it is read anyway",
            *_at(rel),
            rel.name,
            home,
            section,
        )
    earlier = target.get(rel.name)
    if earlier is not None:
        log.warning(
            "%s:%d: %s is given again (first at line %d); the value given last is used",
            *_at(rel),
            rel.name,
            earlier.line,
        )
    target[rel.name] = rel


def _at(rel: Relation) -> tuple[str, int]:
    return rel.source, rel.line


def read_has_ini(path: str | os.PathLike[str], keys: Mapping[str, str]) -> HasIniValues:
    """Read a HAS INI file; unreadable files and syntax errors are ``ConfigError``s."""
    return collect_values(read_profile(path, allow_sectionless=True), keys)


def parse_has_ini(text: str, source: str, keys: Mapping[str, str]) -> HasIniValues:
    return collect_values(parse_profile(text, source, allow_sectionless=True), keys)


# ------------------------------------------------------------------ typed values


def _text(rel: Relation) -> str:
    return str(rel.value).strip()


def parse_host(rel: Relation, text: str | None = None) -> str:
    """One host name or IP address (IPv6 with or without brackets)."""
    value = _text(rel) if text is None else text.strip()
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if value and all(_LABEL.match(label) for label in labels) and len(value) <= 253:
        return value
    raise ConfigError(
        f"{rel.name} = {rel.value}: {value!r} is not a host name or IP address", *_at(rel)
    )


def parse_host_list(rel: Relation) -> tuple[str, ...]:
    """HAS's comma list of hosts (``https_host = emr-header-1,emr-worker-1``)."""
    parts = [p.strip() for p in _text(rel).split(",")]
    if not parts or any(not p for p in parts):
        raise ConfigError(
            f"{rel.name} = {rel.value}: expected host names separated by commas "
            "(e.g. emr-header-1,emr-worker-1)",
            *_at(rel),
        )
    hosts = tuple(parse_host(rel, p) for p in parts)
    if len(set(hosts)) != len(hosts):
        raise ConfigError(f"{rel.name} = {rel.value}: a host is listed twice", *_at(rel))
    return hosts


def parse_port(rel: Relation) -> int:
    """A TCP port, 1-65535."""
    text = _text(rel)
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    raise ConfigError(
        f"{rel.name} = {rel.value}: expected a port number from 1 to 65535", *_at(rel)
    )


def parse_name(rel: Relation, what: str) -> str:
    """A single word such as a plugin name or principal (no spaces, commas, ';' or '=')."""
    value = _text(rel)
    if not _NAME.match(value):
        raise ConfigError(f"{rel.name} = {rel.value}: expected {what}", *_at(rel))
    return value


def parse_path(rel: Relation, base: Path) -> Path:
    """A file path; relative paths are taken from the directory of the config file."""
    value = _text(rel)
    if not value:
        raise ConfigError(f"{rel.name}: expected a file path, found nothing", *_at(rel))
    path = Path(value)
    return path if path.is_absolute() else base / path


# ------------------------------------------------------------------ writing


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    text = str(value)
    if "\n" in text or text != text.strip():
        raise ValueError(f"{text!r} cannot be written as a HAS config value")
    return text


def format_has_ini(
    sections: Mapping[str, Mapping[str, object]], *, header: str | None = None
) -> str:
    """Render ``{section: {key: value}}`` the way HAS's files look (two-space indent).

    ``None`` values are left out; tuples become HAS's comma lists; booleans
    ``true``/``false``. The section ``""`` is written without a header.
    """
    out: list[str] = []
    if header:
        out.extend(f"# {line}".rstrip() for line in header.splitlines())
        out.append("")
    for name, values in sections.items():
        present = {k: v for k, v in values.items() if v is not None}
        if not present:
            continue
        indent = "  " if name else ""
        if name:
            out.append(f"[{name}]")
        out.extend(f"{indent}{key} = {_format_value(value)}" for key, value in present.items())
        out.append("")
    return "\n".join(out)
