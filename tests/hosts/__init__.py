"""Throwaway Debian hosts on this machine, real enough for ``ansible-playbook -i inventory/emr``.

Each host has its own network namespace with an address on a bridge the harness makes
(``hasbr0``, 10.213.0.0/24 by default), its own root filesystem (a copy-on-write
overlay over one Debian bookworm rootfs made once with debootstrap and cached outside
the checkout, keyed by its package list), systemd as PID 1, sshd with a host key made
for it, and a non-root user with sudo, so Ansible reaches it over SSH and becomes root
the way it does on a real cluster.

The hosts have no route out. Debian packages come from the rootfs (everything the
roles install is baked in) and, for ``apt-get update`` and anything else, through a
forward proxy on the bridge address that only lets Debian's package hosts through;
Python packages come from a wheelhouse built on the controller (``wheelhouse.py``).

- ``rootfs.py``: the cached rootfs;
- ``network.py``: bridge, namespaces, veth pairs;
- ``machine.py``: booting and stopping one host;
- ``aptproxy.py``: the apt forward proxy;
- ``cluster.py``: a set of hosts and their state file (what ``down`` removes);
- ``__main__.py``: ``python -m tests.hosts up|down|link|exec|...``.

Everything the harness starts is recorded in its state directory and removed by
``down``, which is safe to run after a failure or twice.
"""
