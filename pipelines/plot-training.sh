#!/bin/sh
# pipelines/plot-training.sh LOG.tsv DIR: the training curves of an r2u-train
# log (loss per head against the step, validation Dice per epoch) as
# DIR/loss.png and DIR/val_dice.png, with gnuplot.
set -eu
log=$1 dir=$2
command -v gnuplot >/dev/null || { echo "plot-training.sh: gnuplot not found (scripts/install-deps.sh)" >&2; exit 1; }
mkdir -p "$dir"
awk -F'\t' 'NR > 1 && $10 != "" { print $1 "\t" $10 }' "$log" >"$dir/val_dice.dat"
gnuplot <<EOG
set terminal png size 900,540
set datafile separator "\t"
set key autotitle columnhead
set output "$dir/loss.png"
set title "R2U-MTDS training loss per head"
set xlabel "optimiser step"
set ylabel "loss (BCE + soft Dice)"
set logscale y
plot "$log" using 2:4 with lines lw 2 title "total", \
     "" using 2:5 with lines title "whole tumour", \
     "" using 2:6 with lines title "edema", \
     "" using 2:7 with lines title "necrosis", \
     "" using 2:8 with lines title "enhancing"
EOG
if [ ! -s "$dir/val_dice.dat" ]; then
	echo "plot-training.sh: no validation Dice in $log (no epoch finished, or no --val)" >&2
	rm -f "$dir/val_dice.dat" "$dir/val_dice.png"
	exit 0
fi
gnuplot <<EOG
set terminal png size 900,540
set output "$dir/val_dice.png"
set key noautotitle
set title "whole-tumour Dice on the held-out cases"
set xlabel "epoch"
set ylabel "Dice"
set yrange [0:1]
plot "$dir/val_dice.dat" using 1:2 with linespoints lw 2 title "validation"
EOG
rm -f "$dir/val_dice.dat"
