#!/bin/bash
# Submits a sharded robustness evaluation to Slurm: an array of N shard tasks, then a merge job that
# starts only when every task has succeeded (--dependency=afterok).
#
#   deploy/slurm/submit.sh N OUT [repro robustness options...]
#   e.g. deploy/slurm/submit.sh 8 /scratch/eval --model resnet50 --preset standard --n 5000 --eps 0.25,0.5,1
#
# Shard K writes OUT/shards/K (resumable); the merge writes OUT/merged. Extra sbatch options for the
# shards (partition, GPUs, time) go in SHARD_SBATCH_OPTIONS, e.g. "--partition=gpu --gres=gpu:1 --time=4:00:00";
# REPRO names the repro command (default: repro on PATH).
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 N OUT [repro robustness options...]" >&2; exit 2; fi
n=$1; out=$2; shift 2
case $n in ''|*[!0-9]*) echo "$0: N must be a number >= 1, got '$n'" >&2; exit 2;; esac
if [ "$n" -lt 1 ]; then echo "$0: N must be >= 1" >&2; exit 2; fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/logs"
# shellcheck disable=SC2086
array=$(sbatch --parsable --array=0-$((n - 1)) ${SHARD_SBATCH_OPTIONS:-} --output="$out/logs/shard-%a.out" "$here/shard.sbatch" "$out" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --output="$out/logs/merge.out" "$here/merge.sbatch" "$out" "$n")
merge=${merge%%;*}
echo "submitted array job $array (shards 0..$((n - 1)) -> $out/shards/K) and merge job $merge (after all succeed -> $out/merged)"
