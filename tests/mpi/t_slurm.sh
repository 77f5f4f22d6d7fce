#!/bin/sh
# pipelines/slurm without Slurm: cases.sbatch as array tasks 0..N-1 (prep,
# then infer) and train.sbatch with an srun that runs 2 ranks through
# mpirun; the files are the pipeline's.
. "$TOP/tests/lib.sh"
if ! command -v mpirun >/dev/null 2>&1 || ! ldd "$BINDIR/r2u-train" 2>/dev/null | grep -q libmpi; then
	echo "ok 1 # SKIP needs mpirun and r2u-train built with MPI"
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
fi
OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_btl OMPI_MCA_btl_tcp_if_include OMPI_MCA_oob_tcp_if_include
D=$TMPDIR/data W=$TMPDIR/work
brats-phantom -q -n 4 --size small --seed 4 -o "$D/train" &&
	brats-phantom -q -n 1 --size small --seed 5 --no-seg -o "$D/valid" || { t_notok "phantoms"; finish; }
cases=$(cd "$D/train" && ls -d BraTS20_Training_*)
# a fold of 2 that holds a case
FOLD=0/2
[ -n "$(sh "$TOP/pipelines/fold.sh" 0 2 $cases)" ] || FOLD=1/2
held=$(sh "$TOP/pipelines/fold.sh" "${FOLD%/*}" 2 $cases)
ARGS="TRAIN=$D/train VALID=$D/valid WORK=$W BIN=$BINDIR FOLD=$FOLD DEVICE=cpu"
cd "$TOP" || exit 1

rc=0
for i in 0 1 2 3; do
	SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 sh pipelines/slurm/cases.sbatch prep $ARGS >>"$TMPDIR/cases.log" 2>&1 || rc=1
done
n=$(ls "$W"/prep/*.nrrd 2>/dev/null | wc -l)
[ $rc -eq 0 ] && [ "$n" -eq 9 ]
ok $? "cases.sbatch prep, array tasks 0-3: 4 images, 4 label maps, 1 validation image ($n files)"

# train.sbatch through an srun that starts 2 ranks with mpirun
mkdir -p "$TMPDIR/fake"
cat >"$TMPDIR/fake/srun" <<'SH'
#!/bin/sh
while [ $# -gt 0 ]; do case $1 in --*) shift ;; *) break ;; esac; done
exec mpirun --oversubscribe -np 2 "$@"
SH
chmod +x "$TMPDIR/fake/srun"
RUN=$W/fold${FOLD%/*}of2
make -s -f pipelines/brats2020.mk $ARGS "$RUN/train.txt" "$RUN/heldout.txt" &&
	PATH=$TMPDIR/fake:$PATH BIN=$BINDIR BATCH=4 SLURM_CPUS_PER_TASK=1 \
		sh pipelines/slurm/train.sbatch "$RUN" --width 8 --epochs 1 --keep-empty 0.1 >"$TMPDIR/train.log" 2>&1
ok $? "train.sbatch: 2 ranks, one epoch"
[ -s "$RUN/model.safetensors" ] && [ "$(wc -l <"$RUN/train/log.tsv")" -gt 1 ] && grep -q '"ranks":"2"' "$RUN/model.safetensors"
ok $? "train.sbatch: the model where the pipeline expects it, the log, the 2 ranks in its metadata"

rc=0
for i in 0 1 2 3; do
	SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 sh pipelines/slurm/cases.sbatch infer $ARGS >>"$TMPDIR/cases.log" 2>&1 || rc=1
done
want=""
for c in $held; do want="$want $RUN/restored/$c.nii.gz"; done
miss=""
for f in $want "$W/submission/BraTS20_Validation_001.nii.gz"; do [ -s "$f" ] || miss="$miss $f"; done
[ $rc -eq 0 ] && [ -z "$miss" ]
ok $? "cases.sbatch infer, array tasks 0-3: held-out cases restored ($(echo $held)), the validation case segmented${miss:+; missing$miss}"
[ $rc -eq 0 ] || sed 's/^/#   /' "$TMPDIR/cases.log" | tail -n 5
finish
