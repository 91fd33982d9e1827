"""Identity administration: principals, keys, keytabs, realm init, nodes, plugin users
and Hadoop host roles.

The one place that changes identities; the CLIs, the REST API and the Ansible modules
all go through it, so every path has the same rules (see `principals` and `realm`) and
every change is one record of the audit trail (see `audit`): each change names the
`Actor` it is made for. Bringing an existing Kerby/HAS or MIT realm over, keys kept, is
`importing` (imported by its users, not here, so the readers load only when an import
runs).
"""

from has_kdc.admin.audit import AUDIT_LOG, Actor, AuditTrail, audit_query, os_actor
from has_kdc.admin.errors import (
    AdminError,
    NoSuchPrincipalError,
    PrincipalExistsError,
    RealmNotInitializedError,
)
from has_kdc.admin.hostroles import (
    HOST_ROLES,
    BulkResult,
    HostRoles,
    KeytabExport,
    create_principals,
    export_host_keytabs,
    host_role_principals,
    read_hostroles,
)
from has_kdc.admin.keys import keys_made_from, password_keys, random_keys, salt_for
from has_kdc.admin.plugin_users import PluginUserAdmin
from has_kdc.admin.principals import (
    ATTRIBUTES,
    PrincipalAdmin,
    keytab_entries,
    keytab_has,
    keytab_holds,
)
from has_kdc.admin.realm import (
    ADMIN_KEYTAB,
    RealmInit,
    admin_keys,
    admin_principal_name,
    deregister_node,
    ensure_node_principals,
    http_principal_name,
    init_realm,
    is_initialized,
    node_host_names,
    node_service_principals,
    recorded_node_principals,
    register_node,
    tgs_principal_name,
    write_admin_keytab,
)
from has_kdc.admin.timespec import format_duration, format_time, parse_duration, parse_time

__all__ = [
    "ADMIN_KEYTAB",
    "ATTRIBUTES",
    "AUDIT_LOG",
    "HOST_ROLES",
    "Actor",
    "AdminError",
    "AuditTrail",
    "BulkResult",
    "HostRoles",
    "KeytabExport",
    "NoSuchPrincipalError",
    "PluginUserAdmin",
    "PrincipalAdmin",
    "PrincipalExistsError",
    "RealmInit",
    "RealmNotInitializedError",
    "admin_keys",
    "admin_principal_name",
    "audit_query",
    "create_principals",
    "deregister_node",
    "ensure_node_principals",
    "export_host_keytabs",
    "format_duration",
    "format_time",
    "host_role_principals",
    "http_principal_name",
    "init_realm",
    "is_initialized",
    "keys_made_from",
    "keytab_entries",
    "keytab_has",
    "keytab_holds",
    "node_host_names",
    "node_service_principals",
    "os_actor",
    "parse_duration",
    "parse_time",
    "password_keys",
    "random_keys",
    "read_hostroles",
    "recorded_node_principals",
    "register_node",
    "salt_for",
    "tgs_principal_name",
    "write_admin_keytab",
]
