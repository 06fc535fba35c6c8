#!/usr/bin/env bash
# RDMA verbs workload for benchmarks: builds the fake-HCA fixtures (test/fixtures/rdma) and runs the verbs
# workload against the real libibverbs. Prints the workload's JSON tally; churn_ns_per_qp is the mean time of
# one ibv_create_qp + ibv_destroy_qp pair. Example (cost ratio: run with and without kotel attached):
#   taskset -c 0 bench/workloads/rdma_verbs.sh --qps 0 --mrs 0 --churn 20000
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${KOTEL_RDMA_FIXTURES:-/tmp/kotel-rdma-fixtures}
bash "$root/test/fixtures/rdma/build.sh" "$out"
SYSFS_PATH=$out/sysfs RDMAV_DRIVERS=$out/libkotelfake exec "$out/rdma-workload" "$@"
