# OpenSBI 1.1 (Debian 12) publishes a hart's START_PENDING state before it
# writes that hart's start address (sbi_hsm_hart_start). This script holds the
# calling hart right after its cmpxchg and lets the target hart run alone: the
# target leaves its wait and enters the kernel at the stale address 0x80200000
# (the primary boot path) instead of secondary_start_sbi. docs/firmware-races.md.
#
# QEMU with -s -S (natively with examples/stub/native-stub.bin, or under a
# monitor image), then: gdb-multiarch -q -batch -x tools/races/opensbi-1.1-hsm-start.gdb
# 0x80109be2: the instruction after the cmpxchg in Debian's opensbi 1.1-2
# fw_dynamic.bin (generic platform) loaded at 0x80100000.
set pagination off
set confirm off
target remote :1234
break *0x80109be2
continue
printf "hart_start window: caller thread %d, target hart %d\n", $_thread, $s1
set $target_thread = $s1 + 1
delete
break *0x80200000
eval "thread %d", $target_thread
set scheduler-locking on
continue
printf "RACE: hart %d entered the kernel at %lx (a0=%lx a1=%lx), not at its hart_start address\n", $_thread - 1, $pc, $a0, $a1
kill
