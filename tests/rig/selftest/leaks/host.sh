#!/bin/sh
# A real leak: the kernel's kmemleak sample module (samples/kmemleak, built
# by selftest.sh into this directory) allocates objects and drops every
# pointer to them; both scripts succeed, the rig must fail on kmemleak's
# report.
insmod /scenario/kmemleak-test.ko || exit 1
rmmod kmemleak_test || exit 1
exit 0
