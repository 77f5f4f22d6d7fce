#!/usr/bin/python3
"""check_phantom.py - check brats-phantom cases with nibabel (independent of
the C code).

usage: check_phantom.py [--layout brats2020|brats2023] [--no-seg] [--small]
                        [--stats] [--tumour-free] CASE_DIR...

Prints one TAP-like line per failed check ("FAIL case: what") and exits 1
when any check failed; with --stats also prints per-case numbers."""
import os
import sys

import nibabel as nib
import numpy as np

args = sys.argv[1:]
layout, noseg, small, stats, tumour_free = 'brats2020', False, False, False, False
dirs = []
while args:
    a = args.pop(0)
    if a == '--layout':
        layout = args.pop(0)
    elif a == '--no-seg':
        noseg = True
    elif a == '--small':
        small = True
    elif a == '--stats':
        stats = True
    elif a == '--tumour-free':
        tumour_free = True
    else:
        dirs.append(a)

fails = 0


def fail(case, what):
    global fails
    fails += 1
    print('FAIL %s: %s' % (case, what), file=sys.stderr)


if layout == 'brats2020':
    mods = ['t1', 't1ce', 't2', 'flair']
    sep, et = '_', 4
else:
    mods = ['t1n', 't1c', 't2w', 't2f']
    sep, et = '-', 3
want_shape = (240, 240, 64) if small else (240, 240, 155)
z0 = 46 if small else 0
want_affine = np.array([[-1, 0, 0, 0], [0, -1, 0, 239], [0, 0, 1, z0], [0, 0, 0, 1]], float)

for d in dirs:
    case = os.path.basename(os.path.normpath(d))
    names = [case + sep + m + '.nii.gz' for m in mods]
    if not noseg:
        names.append(case + sep + 'seg.nii.gz')
    present = sorted(os.listdir(d))
    if present != sorted(names):
        fail(case, 'files %s, expected %s' % (present, sorted(names)))
        continue
    vols = {}
    for n, m in zip(names, mods + ['seg']):
        img = nib.load(os.path.join(d, n))
        h = img.header
        data = np.asanyarray(img.dataobj)
        vols[m] = data
        want_dt = np.uint8 if m == 'seg' else np.int16
        if data.dtype != want_dt:
            fail(case, '%s: dtype %s, expected %s' % (n, data.dtype, np.dtype(want_dt)))
        if data.shape != want_shape:
            fail(case, '%s: shape %s, expected %s' % (n, data.shape, want_shape))
        if int(h['qform_code']) != 1 or int(h['sform_code']) != 1:
            fail(case, '%s: qform/sform codes %d/%d' % (n, h['qform_code'], h['sform_code']))
        if not np.allclose(img.get_sform(), want_affine, atol=1e-4) or \
           not np.allclose(img.get_qform(), want_affine, atol=1e-4):
            fail(case, '%s: affine\n%s' % (n, img.affine))
        if not np.allclose(h.get_zooms()[:3], 1):
            fail(case, '%s: voxel sizes %s' % (n, h.get_zooms()))
    if fails:
        continue
    imgs = [vols[m].astype(np.float64) for m in mods]
    t1, t1ce, t2, flair = imgs
    brain = vols[mods[0]] > 0
    for m in mods:
        if vols[m].min() < 0:
            fail(case, '%s: negative values' % m)
        if not np.array_equal(vols[m] > 0, brain):
            fail(case, '%s: brain mask differs from %s' % (m, mods[0]))
        mx = vols[m].max()
        if not 250 <= mx <= 20000:
            fail(case, '%s: maximum %d outside 250..20000' % (m, mx))
    nb = brain.sum()
    if not 9e5 <= nb <= 2.2e6 and not small:
        fail(case, 'brain volume %.0f cm3' % (nb / 1000))
    # the brain is away from the grid's faces and inside the x/y centre crop
    idx = np.argwhere(brain)
    lo, hi = idx.min(0), idx.max(0)
    if lo[0] < 48 or hi[0] > 191 or lo[1] < 32 or hi[1] > 207:
        fail(case, 'brain box %s..%s leaves the centre of the grid' % (lo, hi))
    if noseg:
        continue
    seg = vols['seg']
    labs = set(np.unique(seg).tolist())
    if not labs <= {0, 1, 2, et}:
        fail(case, 'labels %s' % sorted(labs))
    if (seg[~brain] != 0).any():
        fail(case, 'labels outside the brain')
    wt = (seg > 0).sum() / 1000.0
    if tumour_free:
        if wt > 0:
            fail(case, 'tumour in a tumour-free case')
        continue
    if not small and not 3 <= wt <= 250:
        fail(case, 'whole tumour %.1f cm3 outside 3..250' % wt)
    if small and wt <= 0:
        fail(case, 'no tumour in the slab')
    # reference tissues from the images: white matter = bright on T1 and
    # not bright on T2; CSF = brightest on T2 (both outside the tumour)
    healthy = brain & (seg == 0)
    wm = healthy & (t1 > np.percentile(t1[healthy], 70)) & (t2 < np.percentile(t2[healthy], 50))
    csf = healthy & (t2 > np.percentile(t2[healthy], 97))
    mean = lambda im, m: float(im[m].mean()) if m.any() else float('nan')
    ed, ncr, enh = seg == 2, seg == 1, seg == et
    s = {}
    for name, m in (('wm', wm), ('csf', csf), ('ed', ed), ('ncr', ncr), ('et', enh)):
        s[name] = [mean(im, m) for im in imgs]
    if stats:
        print('%s: brain %.0f cm3, WT %.1f TC %.1f ET %.1f cm3, max %s' % (
            case, nb / 1000, wt, ((seg == 1) | (seg == et)).sum() / 1000, enh.sum() / 1000,
            [int(vols[m].max()) for m in mods]))
        for k in s:
            print('   %-4s t1 %7.0f t1ce %7.0f t2 %7.0f flair %7.0f' % ((k,) + tuple(s[k])))
    def rel(what, ok):
        if not ok:
            fail(case, what)
    W, C = s['wm'], s['csf']
    rel('T1: CSF darker than WM', C[0] < 0.7 * W[0])
    rel('T2: CSF much brighter than WM', C[2] > 2 * W[2])
    rel('FLAIR: CSF dark', C[3] < 0.6 * W[3])
    if ed.sum() > 200:
        E = s['ed']
        rel('FLAIR: edema brighter than WM', E[3] > 1.3 * W[3])
        rel('T2: edema brighter than WM', E[2] > 1.3 * W[2])
        rel('T1: edema darker than WM', E[0] < W[0])
    if enh.sum() > 200:
        T = s['et']
        rel('T1ce: enhancing brighter than WM', T[1] > 1.25 * W[1])
        if ncr.sum() > 200:
            rel('T1ce: enhancing brighter than necrosis', T[1] > 1.4 * s['ncr'][1])
    if ncr.sum() > 200:
        N = s['ncr']
        rel('T1: core darker than WM', N[0] < 0.9 * W[0])
        rel('T2: core brighter than WM', N[2] > 1.3 * W[2])
sys.exit(1 if fails else 0)
