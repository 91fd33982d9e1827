"""The password change service (RFC 3244, port 464) of a HAS node.

``protocol`` is the framing and the result codes, ``service`` answers one request
through `has_kdc.admin` (the same password policy and audit trail as every other
way of setting a password), ``server`` runs it on the node's kpasswd addresses over
UDP and TCP beside the KDC.
"""

from has_kdc.kpasswd.service import KpasswdService

__all__ = ["KpasswdService"]
