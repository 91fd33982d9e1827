"""An import's plan and result as text (hadmin-local) and as plain data (Ansible).

Both say the same things: counts first, then one line per principal or user that
was not simply added or found unchanged — changed, kept, refused — and one per
part that was not carried, each with its reason. Names, enctypes, kvnos and field
names appear; keys and passwords never do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from has_kdc.admin.importing.apply import ImportResult
from has_kdc.admin.importing.plan import ImportPlan
from has_kdc.admin.importing.records import Skipped

__all__ = ["group_skipped", "plan_data", "report_lines", "summary_line"]

#: names listed per line of the text report before "and N more"
NAMES_SHOWN = 5
_KVNO = re.compile(r" kvno \d+$")


def group_skipped(items: Iterable[Skipped]) -> list[tuple[str, str, list[str]]]:
    """(what, reason, names) with the names of every item alike, in first-seen order.

    A source of 10,000 principals each with an RC4 key gives one entry, not 10,000;
    kvnos are left out of ``what`` so every version of a key groups together.
    """
    groups: dict[tuple[str, str], dict[str, None]] = {}
    for item in items:
        names = groups.setdefault((_KVNO.sub("", item.what), item.reason), {})
        if item.name is not None:
            names[item.name] = None
    return [(what, reason, list(names)) for (what, reason), names in groups.items()]


def _names(names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:NAMES_SHOWN])
    more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
    return f" ({len(names)}: {shown}{more})"


def summary_line(plan: ImportPlan) -> str:
    """One line of counts, e.g. for an Ansible ``--diff`` or the end of the report."""
    update_word = "replaced" if plan.update else "kept; --update replaces them"
    return (
        f"principals: {plan.source_principals} in the source; {len(plan.add)} new, "
        f"{len(plan.unchanged)} unchanged, {len(plan.changed)} changed ({update_word}), "
        f"{len(plan.kept)} kept as the realm's own, {len(plan.refused)} refused; "
        f"keys: {plan.keys_carried} of {plan.source_keys} carried ({plan.keys_written} new or "
        "replaced); plugin users: "
        f"{len(plan.users_add)} new, {len(plan.users_unchanged)} unchanged, "
        f"{len(plan.users_changed)} changed"
    )


def report_lines(plan: ImportPlan, result: ImportResult | None = None) -> list[str]:
    """The report: header, detail lines, counts; ``result`` None for a dry run."""
    verb = "dry run, nothing written" if result is None else "imported"
    lines = [f"import from {plan.kind} {plan.location} into realm {plan.realm}: {verb}"]
    if plan.initialize:
        lines.append(
            "realm: not initialized; "
            + (
                "the import carries the source's krbtgt and kadmin keys and initializes it"
                if result is None
                else "initialized by this import"
                + (
                    f" (created {', '.join(result.created_builtins)})"
                    if result.created_builtins
                    else ""
                )
            )
        )
    for change in plan.changed:
        action = "replaced" if plan.update else "kept as it is (--update replaces it)"
        lines.append(f"changed  {change.wanted.name}: {', '.join(change.fields)} differ; {action}")
    for user in plan.users_changed:
        action = "replaced" if plan.update else "kept as it is (--update replaces it)"
        lines.append(f"changed  plugin user {user.user.name}: {', '.join(user.fields)}; {action}")
    lines += [f"kept     {item.line()}" for item in plan.kept]
    lines += [f"refused  {item.line()}" for item in plan.refused]
    lines += [
        f"not carried  {what}{_names(names)}: {reason}"
        for what, reason, names in group_skipped(plan.not_carried)
    ]
    if result is not None:
        lines += [f"failed   {name}: {reason}" for name, reason in result.failed]
    lines.append(summary_line(plan))
    return lines


def plan_data(plan: ImportPlan, result: ImportResult | None = None) -> dict[str, object]:
    """The plan (and result) as JSON-able data: names and reasons, never secrets."""
    data: dict[str, object] = {
        "source_format": plan.kind,
        "source": plan.location,
        "realm": plan.realm,
        "initializes_realm": plan.initialize,
        "source_principals": plan.source_principals,
        "source_keys": plan.source_keys,
        "keys_carried": plan.keys_carried,
        "keys_written": plan.keys_written,
        "added": [p.name for p in plan.add],
        "unchanged": len(plan.unchanged),
        "changed_principals": [{"name": c.wanted.name, "fields": c.fields} for c in plan.changed],
        "kept": [{"name": k.name, "reason": k.reason} for k in plan.kept],
        "refused": [{"name": r.name, "what": r.what, "reason": r.reason} for r in plan.refused],
        "not_carried": [
            {"what": what, "reason": reason, "names": names}
            for what, reason, names in group_skipped(plan.not_carried)
        ],
        "plugin_users_added": [u.user.name for u in plan.users_add],
        "plugin_users_changed": [
            {"name": u.user.name, "fields": u.fields} for u in plan.users_changed
        ],
        "plugin_users_unchanged": len(plan.users_unchanged),
    }
    if result is not None:
        data["not_written"] = [{"name": n, "reason": r} for n, r in result.failed]
        data["created_builtins"] = result.created_builtins
    return data
