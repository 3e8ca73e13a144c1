#!/usr/bin/env bash
# Installs every Debian package tpusim needs to build, test and run, and only the
# missing ones. Works as root on a fresh Debian 12 machine; prints nothing to do
# when all is present.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git
  # libraries
  libsystemc-dev libyaml-cpp-dev libeigen3-dev nlohmann-json3-dev libboost-dev
  libcli11-dev libfmt-dev libonnx-dev libprotobuf-dev zlib1g-dev
  # data: ONNX's operator conformance cases; Fashion-MNIST for the training harness
  libonnx-testdata dataset-fashion-mnist
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # charts of sweep reports
  gnuplot-nox
  # the sweeps' Slurm backend and its test (a one-node cluster the test starts)
  slurmctld slurmd slurm-client munge
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them when an install cannot
# find what it needs.
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
