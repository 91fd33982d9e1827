"""Change a few ``key = value`` lines of a config file and keep every other line as written.

HAS's configuration endpoints (``conf/configkdc``, ``conf/setplugin``) rewrite a node's
kdc.conf and has-server.conf in place. An operator's comments, ordering and extra
settings (lifetimes, enctypes, TLS paths) must survive that, so this edits lines
instead of re-rendering the file:

- a key already present at the top level of the section (not inside ``{ }``) gets
  the new value, keeping its indentation;
- a key not present is added after the section's last setting, in its indentation;
- a file without section headers (HAS's sectionless has-server.conf) gets the key at
  its end; a file whose sections do not include the wanted one gets the section.
  Lines before the first section header count as the section's (HAS reads them first).

The text is the same kind of profile/INI text the readers in has_kdc.conf parse;
callers check the result with those readers before writing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["set_relations"]

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_RELATION = re.compile(r"^(\s*)([A-Za-z0-9_.-]+)(\s*=\s*)(.*?)(\s*)$")


def _check_value(key: str, value: str) -> str:
    if "\n" in value or "\r" in value or value != value.strip() or not value:
        raise ValueError(f"{key}: {value!r} cannot be written as a config value")
    return value


def set_relations(text: str, section: str, values: Mapping[str, str]) -> str:
    """``text`` with each ``key = value`` of ``values`` set in ``[section]``."""
    wanted = {k: _check_value(k, v) for k, v in values.items()}
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    has_sections = any(_SECTION.match(line) for line in lines)
    current: str | None = None
    depth = 0
    found: set[str] = set()
    section_end: int | None = None  # index after the last setting of the section
    section_indent = "  "
    for i, line in enumerate(lines):
        stripped = line.strip()
        if depth == 0 and (match := _SECTION.match(line)):
            current = match[1].strip()
            if current == section:
                section_end = i + 1
            continue
        # HAS looks a key up among the lines before any section first, so those count.
        in_target = current == section or current is None
        if stripped.startswith(("#", ";")) or not stripped:
            continue
        if depth == 0 and in_target and (match := _RELATION.match(line.rstrip("\r\n"))):
            key = match[2]
            if key in wanted:
                ending = line[len(line.rstrip("\r\n")) :]
                lines[i] = f"{match[1]}{key}{match[3]}{wanted[key]}{ending}"
                found.add(key)
            section_end = i + 1
            section_indent = match[1]
        depth += stripped.count("{") - stripped.count("}")
        depth = max(depth, 0)
    missing = [k for k in wanted if k not in found]
    if not missing:
        return "".join(lines)
    if not has_sections:
        return "".join(lines) + "".join(f"{k} = {wanted[k]}\n" for k in missing)
    if section_end is None:
        block = [f"[{section}]\n", *(f"  {k} = {wanted[k]}\n" for k in missing)]
        if lines and lines[-1].strip():
            block.insert(0, "\n")
        return "".join(lines + block)
    added = [f"{section_indent}{k} = {wanted[k]}\n" for k in missing]
    return "".join(lines[:section_end] + added + lines[section_end:])
