#!/bin/sh
# scripts/install-deps.sh - install the Debian packages brats-r2u needs.
#
#   scripts/install-deps.sh              install whatever is missing (apt-get)
#   scripts/install-deps.sh --if-missing the same, silent when nothing is missing
#   scripts/install-deps.sh --list       print the package list
#   scripts/install-deps.sh --check      exit 1 (and list them) when some are missing
#
# clang, its sanitizer and libFuzzer runtimes (libclang-rt-14-dev) and its
# OpenMP runtime (libomp-dev) are for `make fuzz`; the rest of the build and
# the tests use gcc.
# Idempotent: only missing packages are installed.  Runs apt-get as root, or
# through sudo when available.  The CUDA toolkit and cuDNN are not Debian
# packages here: the build uses them when /usr/local/cuda (or CUDA_HOME) has them.
set -eu

PKGS="gcc make libc6-dev libnifti2-dev zlib1g-dev libdeflate-dev libpng-dev libopenblas-dev
python3 python3-numpy python3-scipy python3-nibabel python3-torch
teem-apps mandoc mricron-data gnuplot-nox hyperfine time
clang libclang-rt-14-dev libomp-dev libopenmpi-dev openmpi-bin"

missing() {
	for p in $PKGS; do
		s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case $s in *"install ok installed"*) ;; *) printf '%s ' "$p" ;; esac
	done
}

mode=${1:-install}
case $mode in
--list) echo $PKGS; exit 0 ;;
--check)
	m=$(missing)
	[ -z "$m" ] && exit 0
	echo "missing Debian packages: $m" >&2
	exit 1 ;;
--if-missing|install|--install) ;;
*) echo "usage: $0 [--if-missing|--check|--list]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: this is not a Debian-like system; install the equivalents of: $PKGS" >&2
	exit 1
fi
m=$(missing)
if [ -z "$m" ]; then
	[ "$mode" = --if-missing ] || echo "install-deps: everything is installed"
	exit 0
fi
echo "install-deps: installing: $m"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "install-deps: not root and no sudo; as root run: apt-get install $m" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# refresh the package lists only when a package cannot be found
if ! $SUDO apt-get install -y --no-install-recommends $m; then
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends $m
fi
m=$(missing)
if [ -n "$m" ]; then
	echo "install-deps: still missing: $m" >&2
	exit 1
fi
