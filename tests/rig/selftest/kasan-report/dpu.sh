#!/bin/sh
# A real KASAN report (the debug kernel of `make test-debug` only): lkdtm
# writes one int past a kmalloc'ed buffer; both scripts succeed, and the
# log scanner must fail the run ("BUG: KASAN: slab-out-of-bounds").
echo SLAB_LINEAR_OVERFLOW > /sys/kernel/debug/provoke-crash/DIRECT
exit 0
