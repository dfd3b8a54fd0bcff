#!/bin/sh
# PID 1 of the nested-kvm guest: Debian's Linux in Bochs, the L0 hypervisor under which
# QEMU/KVM boots Tessera (xtask/src/nested). Linux's console is COM1. Everything this
# script reports goes to COM2 on lines starting with "##" (never "@@": those are
# Tessera's); each Tessera run's own serial port is COM2 too, between
# "##RUN id=N event=begin" and "##RUN id=N event=end". The host splits COM2 (channel.rs).
# Tessera's files arrive as a second initramfs unpacked over this one, in /tessera:
# runs/NNN/argv (QEMU's arguments, one per line) and runs/NNN/timeout (seconds).

export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

COM2=/dev/ttyS1
stty -F "$COM2" 115200 raw -echo
exec 3>"$COM2"

now() { read -r seconds _ < /proc/uptime; echo "$seconds"; }
say() { echo "##$*" >&3; }
# Every line of a file or of stdin as "##WORD line".
each() { while IFS= read -r line; do say "$1 $line"; done; }

finish() {
    say "DONE uptime=$(now)"
    sync
    # Bochs quits when the bytes of "Shutdown" are written to port 0x8900.
    for c in S h u t d o w n; do
        printf %s "$c" | dd of=/dev/port bs=1 seek=35072 count=1 2>/dev/null
    done
    poweroff -f
}

kvm_failed() {
    say "STAGE name=kvm status=fail uptime=$(now) why=$1"
    dmesg | tail -n 40 | each DMESG
    finish
}

say "STAGE name=linux status=ok uptime=$(now) kernel=$(uname -r)"

for module in irqbypass kvm kvm-intel; do
    args=
    [ "$module" = kvm-intel ] && args=nested=1
    # shellcheck disable=SC2086
    if ! insmod "/lib/modules/$module.ko" $args 2>/tmp/insmod.err; then
        each DMESG </tmp/insmod.err
        kvm_failed "insmod-$module"
    fi
done
for p in /sys/module/kvm_intel/parameters/*; do
    say "PARAM kvm_intel.${p##*/}=$(cat "$p")"
done
dmesg | grep -i -E 'kvm|vmx' | each DMESG
[ -c /dev/kvm ] || kvm_failed no-dev-kvm
[ "$(cat /sys/module/kvm_intel/parameters/nested)" = Y ] || kvm_failed nested-off
say "STAGE name=kvm status=ok uptime=$(now)"

for run in /tessera/runs/*; do
    [ -f "$run/argv" ] || continue
    id=${run##*/}
    set --
    while IFS= read -r arg; do set -- "$@" "$arg"; done <"$run/argv"
    say "RUN id=$id event=begin uptime=$(now)"
    timeout "$(cat "$run/timeout")" qemu-system-x86_64 "$@" </dev/null 2>/tmp/qemu.err
    rc=$?
    say "RUN id=$id event=end rc=$rc uptime=$(now)"
    each "QEMU id=$id" </tmp/qemu.err
done
finish
