"""has-kdc: the Hadoop Authentication Service as a Kerberos V5 KDC behind HTTPS."""

__version__ = "0.1.0"
