"""The environment the tests run Ansible commands in: the project's ansible.cfg, no
colour, temporary files under the test's own directory, and (for ad hoc module runs)
each result as one JSON object after ``host | STATUS => ``."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def ansible_env(
    tmp: Path | None = None, *, json_results: bool = True, **extra: str
) -> dict[str, str]:
    """``os.environ`` plus those settings; ``tmp``: Ansible's local and remote temporary
    directory goes under it; ``extra`` last, so a test can override any of them."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if tmp is not None:
        env["ANSIBLE_LOCAL_TEMP"] = env["ANSIBLE_REMOTE_TEMP"] = str(tmp / "ansible-tmp")
    if json_results:
        env.update(
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_STDOUT_CALLBACK="minimal",
            ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        )
    env.update(extra)
    return env
