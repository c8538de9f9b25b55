#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# /init of the busybox initramfs that `./vfm fetch` builds (docs/driver.md).
#
# Contract, relied on by the driver and by tests:
#   1. After mounting proc, sysfs and devtmpfs it prints the line
#        vfm: user space reached
#   2. If there is a command to run, from /vfm/exec.sh (a second archive the
#      driver appends to the initrd) or else from vfm.exec=<base64> on the
#      kernel command line, it prints
#        vfm: exec begin
#      runs the command with sh (stdin /dev/null, output on the console), prints
#        vfm: exec done status=<exit status>
#      and powers off.
#   3. Otherwise it starts an interactive shell on the console (with job
#      control) and powers off when the shell exits.

/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin /root /vfm
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
export TERM=vt100

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /tmp
hostname vfm

echo "vfm: user space reached"

cmdfile=
if [ -f /vfm/exec.sh ]; then
    cmdfile=/vfm/exec.sh
else
    for arg in $(cat /proc/cmdline); do
        case "$arg" in
        vfm.exec=*)
            if echo "${arg#vfm.exec=}" | base64 -d > /tmp/vfm-exec.sh 2>/dev/null; then
                cmdfile=/tmp/vfm-exec.sh
            else
                echo "vfm: bad vfm.exec= argument (not base64)"
                cmdfile=/tmp/vfm-exec.sh
                echo "exit 127" > "$cmdfile"
            fi
            ;;
        esac
    done
fi

if [ -n "$cmdfile" ]; then
    echo "vfm: exec begin"
    cd /root
    sh "$cmdfile" < /dev/null
    status=$?
    cd /
    echo "vfm: exec done status=$status"
else
    cd /root
    setsid cttyhack sh -l
    cd /
fi

sync
# A machine without a poweroff device (QEMU sifive_u) resets instead, which
# QEMU's -no-reboot turns into an exit (tools/vfmtool/qemu.py, MACHINES).
if grep -q 'vfm\.off=reboot' /proc/cmdline; then
    reboot -f
fi
poweroff -f
# Only reached when the firmware cannot power off.
echo "vfm: poweroff failed"
while :; do sleep 3600; done
