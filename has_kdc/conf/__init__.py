"""Config files, one reader per file type: MIT profile (krb5.conf, kdc.conf), backend.conf.

Stdlib only, so every other layer may use it.
"""

from has_kdc.conf.backend import (
    PASSWORD_ENV,
    BackendConfig,
    default_backend_config,
    read_backend_conf,
)
from has_kdc.conf.confdir import ConfDir, load_conf_dir
from has_kdc.conf.errors import ConfigError
from has_kdc.conf.kdc import DEFAULT_DATA_DIR, KdcConfig, read_kdc_conf
from has_kdc.conf.profile import (
    Profile,
    Relation,
    Relations,
    format_profile,
    parse_profile,
    read_profile,
)
from has_kdc.conf.values import DEFAULT_ENCTYPES, ENCTYPE_NAMES

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_ENCTYPES",
    "ENCTYPE_NAMES",
    "PASSWORD_ENV",
    "BackendConfig",
    "ConfDir",
    "ConfigError",
    "KdcConfig",
    "Profile",
    "Relation",
    "Relations",
    "default_backend_config",
    "format_profile",
    "load_conf_dir",
    "parse_profile",
    "read_backend_conf",
    "read_kdc_conf",
    "read_profile",
]
