#!/usr/bin/env bash
# Report kernel trouble in a guest log: oops, BUG (KASAN reports are
# "BUG: KASAN: …"), WARNING, panic, hung task,
# lockdep, RCU stall, UBSAN, any stack trace. Only kernel lines are read (the
# printk timestamp "[    1.234567] " marks them), so a script that prints the
# word WARNING does not fail a test. Also memory leaks: the kmemleak report
# that guest-init prints at the end of a run (`cat /sys/kernel/debug/kmemleak`,
# lines "unreferenced object 0x… (size N):"), and a guest whose kmemleak was
# not usable (it would hide leaks). Exit 1 and print the offending lines if
# any is found; exit 0 otherwise.
# Usage: scan-kernel-log.sh <log>...
set -u
pattern='Oops|BUG:|kernel BUG at|WARNING:|Kernel panic|INFO: task .* blocked for more than|general protection fault|possible (recursive|circular) locking|inconsistent lock state|lock held when returning|detected stall|self-detected stall|UBSAN:|KFENCE:|Call Trace:|Unable to handle kernel'
found=0
for log in "$@"; do
    [ -f "$log" ] || continue
    hits=$(tr -d '\r' <"$log" | grep -E '^\[ *[0-9]+\.[0-9]+\] ' | grep -E "$pattern" | head -n 20)
    if [ -n "$hits" ]; then
        echo "kernel trouble in $log:"
        echo "$hits" | sed 's/^/    /'
        found=1
    fi
    # kmemleak's report: each leak as its header, comm and first frames
    # beneath kmemleak's own (the allocation site).
    leaks=$(tr -d '\r' <"$log" | awk '
        /^unreferenced object 0x[0-9a-f]+ \(size [0-9]+\):/ {
            n++; shown = n <= 5; bt = 0; frames = 0; if (shown) print; next }
        !shown { next }
        /^  comm / { print; next }
        /^  backtrace/ { bt = 1; next }
        bt && /^    [^ ]/ && $1 !~ /^(kmemleak_|__kmalloc|kmalloc|kzalloc|kmem_cache_|__kvmalloc|kvmalloc|__vmalloc|vmalloc|slab_|__alloc|alloc_|__do_kmalloc|pcpu_|__pcpu)/ {
            if (frames++ < 3) print }
        END { if (n > 5) print "(" n " unreferenced objects in all)" }')
    if [ -n "$leaks" ]; then
        echo "memory leak (kmemleak) in $log:"
        echo "$leaks" | sed 's/^/    /'
        found=1
    fi
    unavailable=$(tr -d '\r' <"$log" | grep -E '^QTFS-RIG: kmemleak unavailable' | head -n 2)
    if [ -n "$unavailable" ]; then
        echo "leak detection off in $log:"
        echo "$unavailable" | sed 's/^/    /'
        found=1
    fi
done
exit $found
