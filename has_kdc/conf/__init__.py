"""Config files, one reader per file type: MIT profile (krb5.conf, kdc.conf), backend.conf,
HAS's has-server.conf, has-client.conf and hadmin.conf, and the client config exports.

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
from has_kdc.conf.has_client import (
    HADMIN_CONF,
    HAS_CLIENT_CONF,
    HadminConfig,
    HasClientConfig,
    read_hadmin_conf,
    read_has_client_conf,
    write_hadmin_conf,
    write_has_client_conf,
)
from has_kdc.conf.has_server import (
    HAS_SERVER_CONF,
    HasServerConfig,
    parse_has_server_conf,
    read_has_server_conf,
    set_enable_conf,
)
from has_kdc.conf.kdc import DEFAULT_DATA_DIR, KdcConfig, read_kdc_conf
from has_kdc.conf.profile import (
    Profile,
    Relation,
    Relations,
    format_profile,
    parse_profile,
    read_profile,
)
from has_kdc.conf.ssl_conf import SslConf, read_ssl_conf
from has_kdc.conf.values import DEFAULT_ENCTYPES, ENCTYPE_NAMES

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_ENCTYPES",
    "ENCTYPE_NAMES",
    "HADMIN_CONF",
    "HAS_CLIENT_CONF",
    "HAS_SERVER_CONF",
    "PASSWORD_ENV",
    "BackendConfig",
    "ConfDir",
    "ConfigError",
    "HadminConfig",
    "HasClientConfig",
    "HasServerConfig",
    "KdcConfig",
    "Profile",
    "Relation",
    "Relations",
    "SslConf",
    "default_backend_config",
    "format_profile",
    "load_conf_dir",
    "parse_has_server_conf",
    "parse_profile",
    "read_backend_conf",
    "read_hadmin_conf",
    "read_has_client_conf",
    "read_has_server_conf",
    "read_kdc_conf",
    "read_profile",
    "read_ssl_conf",
    "set_enable_conf",
    "write_hadmin_conf",
    "write_has_client_conf",
]
