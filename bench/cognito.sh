#!/usr/bin/env bash
# The course's Cognito build in boto3 (tests/fixtures/cognito_build.py: lessons 9, 12, 13 and
# 15, about 35 calls a round), against the lab's control plane and against moto's server mode,
# side by side in one run on this machine, ROUNDS rounds each, alternating, same client.
#   bench/cognito.sh            (ROUNDS=20 RUNS=3 to change it)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-20}
boto3_lab_vs_moto "the course's Cognito build, $ROUNDS rounds, boto3" \
  tests/fixtures/cognito_build.py "$ROUNDS"
