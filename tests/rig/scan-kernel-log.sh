#!/usr/bin/env bash
# Report kernel trouble in a guest log: oops, BUG, WARNING, panic, hung task,
# lockdep, RCU stall, UBSAN, any stack trace. Only kernel lines are read (the
# printk timestamp "[    1.234567] " marks them), so a script that prints the
# word WARNING does not fail a test. Exit 1 and print the offending lines if
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
done
exit $found
