#!/usr/bin/env python3
"""pymedphys.gamma on two RT Dose files (axis-aligned grids), as a whole process.

    python3 Tools/peers/pymedphys_gamma.py REF.dcm EVAL.dcm DOSE_PCT DTA_MM [--local]
            [--cutoff 10] [--interp-fraction 10]

Prints one JSON line: pass rate (gamma <= 1 among points with a gamma), points, the
seconds spent in pymedphys.gamma alone, and the settings. Global gamma is normalised to
the reference maximum (pymedphys's default); max_gamma is left unlimited (a finite one
makes pymedphys drop the points it does not reach as NaN).
"""
import argparse
import json
import time

import numpy as np
import pydicom


def load(path):
    """Ascending (z, y, x) axes and the dose (Gy) ordered to them."""
    ds = pydicom.dcmread(path)
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    gfov = np.array([float(v) for v in ds.GridFrameOffsetVector])
    sr, sc = (float(v) for v in ds.PixelSpacing)
    dose = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)   # (frames, rows, cols)
    arr = np.transpose(dose, (2, 1, 0))                                     # (i, j, f)
    vecs = [(row * sc, np.arange(arr.shape[0])), (col * sr, np.arange(arr.shape[1])), (normal, gfov)]
    coords, order = [None] * 3, [None] * 3
    for a, (v, steps) in enumerate(vecs):
        p = int(np.argmax(np.abs(v)))
        if abs(abs(v[p]) - np.linalg.norm(v)) > 1e-6:
            raise SystemExit(f"{path}: not an axis-aligned grid")
        c = ipp[p] + v[p] * steps
        if c[-1] < c[0]:
            arr, c = np.flip(arr, axis=a), c[::-1]
        coords[p], order[p] = np.ascontiguousarray(c), a
    arr = np.transpose(arr, (order[2], order[1], order[0]))
    return (coords[2], coords[1], coords[0]), np.ascontiguousarray(arr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ref"), ap.add_argument("eval")
    ap.add_argument("dose_pct", type=float), ap.add_argument("dta_mm", type=float)
    ap.add_argument("--local", action="store_true")
    ap.add_argument("--cutoff", type=float, default=10)
    ap.add_argument("--interp-fraction", type=int, default=10)
    a = ap.parse_args()
    import pymedphys
    ax_r, d_r = load(a.ref)
    ax_e, d_e = load(a.eval)
    t = time.time()
    g = pymedphys.gamma(ax_r, d_r, ax_e, d_e, dose_percent_threshold=a.dose_pct, distance_mm_threshold=a.dta_mm,
                        lower_percent_dose_cutoff=a.cutoff, interp_fraction=a.interp_fraction, local_gamma=a.local)
    compute = time.time() - t
    valid = g[~np.isnan(g)]
    print(json.dumps({"pass_rate_pct": 100.0 * float(np.sum(valid <= 1)) / len(valid), "points": int(len(valid)),
                      "compute_s": round(compute, 3), "interp_fraction": a.interp_fraction, "local": a.local,
                      "criteria": f"{a.dose_pct:g}%/{a.dta_mm:g}mm", "cutoff_pct": a.cutoff}))


if __name__ == "__main__":
    main()
