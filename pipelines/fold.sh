#!/bin/sh
# pipelines/fold.sh K N CASE...: the cases of fold K of N, one per line.
# pipelines/fold.sh - N CASE...: every case with its fold, as CASE:K words.
# A case's fold is the first 32 bits of the MD5 of its id, modulo N: it
# depends on the id alone, so a split does not change when cases are added or
# reordered, and similar ids spread evenly over the folds.
k=$1 n=$2
shift 2
for c in "$@"; do
	h=$((0x$(printf '%s' "$c" | md5sum | cut -c1-8)))
	if [ "$k" = - ]; then
		echo "$c:$((h % n))"
	elif [ $((h % n)) -eq "$k" ]; then
		echo "$c"
	fi
done
exit 0
