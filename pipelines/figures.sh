#!/bin/sh
# pipelines/figures.sh BIN PREP POST SCORES LOG DIR: the figures of one
# trained model.  With SCORES (the portal's CSV of its held-out cases; "-"
# when there are none), montages of the worst, median and best case by
# whole-tumour Dice (DIR/{worst,median,best}-CASE.png: the image PREP/CASE.nrrd,
# the ground truth PREP/CASE.seg.nrrd and the prediction POST/CASE.nrrd);
# then the training curves of the r2u-train log LOG (pipelines/plot-training.sh).
set -eu
bin=$1 prep=$2 post=$3 scores=$4 log=$5 dir=$6
mkdir -p "$dir"
if [ "$scores" != - ]; then
	grep -v -E '^(Label|Mean|StdDev|Median|25quantile|75quantile),' "$scores" | sort -t, -k3,3g >"$dir/ranked.csv"
	n=$(wc -l <"$dir/ranked.csv")
	for r in worst:1 median:$(((n + 1) / 2)) best:$n; do
		c=$(sed -n "${r#*:}p" "$dir/ranked.csv" | cut -d, -f1)
		[ -n "$c" ] || continue
		"$bin/slice-png" -q --overlay "$prep/$c.seg.nrrd" --compare "$post/$c.nrrd" \
			-o "$dir/${r%%:*}-$c.png" "$prep/$c.nrrd"
	done
fi
sh "$(dirname "$0")/plot-training.sh" "$log" "$dir"
