"""HAS's host roles: which service principals a Hadoop role needs on a host.

The table of HAS's ``HostRoleType`` (has-server ``web/HostRoleType.java``), served by
``GET /has/v1/hostroles`` in HAS's JSON shape and used by the admin endpoints that
create principals by role.
"""

from __future__ import annotations

__all__ = ["HOST_ROLES", "host_roles_json"]

#: role -> the first components of its principals (``<name>/<host>@REALM``)
HOST_ROLES: dict[str, tuple[str, ...]] = {
    "HDFS": ("HTTP", "hdfs"),
    "YARN": ("yarn",),
    "MAPRED": ("mapred",),
    "HBASE": ("hbase",),
    "ZOOKEEPER": ("zookeeper",),
    "SPARK": ("spark",),
    "HIVE": ("hive",),
    "OOZIE": ("oozie",),
    "HUE": ("hue",),
}


def host_roles_json() -> list[dict[str, object]]:
    """``[{"HostRole": "HDFS", "PrincipalNames": ["HTTP", "hdfs"]}, ...]`` as HAS answers."""
    return [{"HostRole": role, "PrincipalNames": list(names)} for role, names in HOST_ROLES.items()]
