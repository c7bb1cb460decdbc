#!/bin/sh
# The rig must report this non-zero exit as a failure.
exit 3
