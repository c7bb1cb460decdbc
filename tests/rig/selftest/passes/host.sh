#!/bin/sh
# Control: both scripts succeed and the kernel stays quiet.
echo "the word WARNING: in script output is not a kernel warning"
exit 0
