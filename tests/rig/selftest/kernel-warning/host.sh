#!/bin/sh
# A real kernel WARNING, provoked through lkdtm; both scripts succeed.
echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT
exit 0
