#!/usr/bin/env bash
# The load balancer's part of the course's build in boto3 (tests/fixtures/build_track.py peers:
# lessons 5, 8, 10, 13 and 15, 26 ELBv2 calls a round), against a blank lab and moto's server
# mode, side by side in one run on this machine, ROUNDS rounds each, alternating, same client.
#   bench/elb.sh            (ROUNDS=20 RUNS=3 to change it)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-20}
LAB_FLAGS=--blank boto3_lab_vs_moto "the load balancer's build, $ROUNDS rounds, boto3" \
  tests/fixtures/build_track.py peers "$ROUNDS"
