"""The KDC: AS and TGS processing as plain functions from request bytes to reply bytes.

``Kdc`` (handler.py) is the entry point for the network layer; ``policy`` holds the
pure rules (times, flags, options, enctype choice), ``as_req``/``tgs_req`` the two
exchanges, ``principal_cache`` the store reads that make no query per request.
"""

from has_kdc.kdc.handler import Kdc

__all__ = ["Kdc"]
