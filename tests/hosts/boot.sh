#!/bin/sh
# PID 1 of a test host's new pid, mount, uts, ipc and cgroup namespaces (run inside
# its network namespace by machine.py): mount the host's overlay, give it /proc, a
# read-only /sys, the cgroup hierarchies systemd needs, a small /dev and /run, move
# into it with pivot_root and become systemd.
#   boot.sh LOWER UPPER WORK ROOT HOSTNAME
set -eu
lower=$1 upper=$2 work=$3 root=$4 name=$5

mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
hostname "$name"

mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
if [ -d /sys/fs/cgroup/unified ]; then
    # cgroup v1 with the v2 hierarchy beside it ("hybrid"): systemd needs its named
    # v1 hierarchy and the unified one
    mount -t tmpfs -o nosuid,nodev,noexec,mode=755 tmpfs "$root/sys/fs/cgroup"
    mkdir "$root/sys/fs/cgroup/systemd" "$root/sys/fs/cgroup/unified"
    mount -t cgroup -o none,name=systemd,nosuid,nodev,noexec cgroup "$root/sys/fs/cgroup/systemd"
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup/unified"
else
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
fi

mount -t tmpfs -o nosuid,mode=755,size=4m tmpfs "$root/dev"
for device in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
    set -- $device
    mknod -m 666 "$root/dev/$1" c "$2" "$3"
done
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o nosuid,nodev tmpfs "$root/dev/shm"
# The console is a null device node of its own: systemd chowns and chmods its console
# (root:tty 0620), which must not reach the controller's /dev/null through a bind mount.
mknod -m 600 "$root/dev/console" c 1 3
mount -t tmpfs -o nosuid,nodev,mode=755 tmpfs "$root/run"

cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
exec env -i container=other /lib/systemd/systemd --system
