#!/bin/sh
# Never ends: the rig must stop it at the limit and fail it.
sleep 600
