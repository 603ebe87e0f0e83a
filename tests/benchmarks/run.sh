#!/usr/bin/env bash
# The benchmark command under its first name: the benchmarks live in bench/ (bench/run.sh).
exec bash "$(dirname "$0")/../../bench/run.sh" "$@"
