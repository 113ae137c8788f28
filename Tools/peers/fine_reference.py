#!/usr/bin/env python3
"""Independent high-resolution DVH reference for small structures (numpy only).

Not sbrt's algorithm: a brute-force point sampling of each structure, meant as the
yardstick against which sbrt and the peers are judged on a given DICOM folder.

Geometry
  * Each contour plane k at z_k is extruded as a right prism over [b_k, b_{k+1}],
    where interior boundaries are midway between consecutive planes and the end caps
    reach half the median plane spacing beyond the first and last planes (sbrt's
    default "prism" end caps).
  * Samples sit at the centres of a regular lattice of `--step` mm (default 0.25) in
    x and y over the structure's bounding box, and at centres of sub-slices no
    thicker than `--step` inside each prism slab.
  * A sample is inside when it is inside an odd number of the plane's contours
    (even-odd rule, matplotlib.path.Path.contains_points per contour, XOR-ed).
  * Each sample weighs dx·dy·dz_slab; volume = sum of weights.

Dose
  * Trilinear interpolation of the RT Dose grid between voxel centres
    (scipy.ndimage.map_coordinates, order=1). Points up to half a voxel beyond the
    outermost voxel centres take the nearest edge value; farther out they get 0 Gy.

Metrics (from the weighted samples, no histogram)
  * Dmean = weighted mean; Dmin/Dmax = extreme doses over the samples and over every
    contour vertex evaluated on its plane and on both faces of its prism slab;
  * Dx% / Dxcc = dose at which the weighted cumulative volume of samples sorted by
    decreasing dose reaches x (linear between neighbouring samples).

Only axis-aligned HFS-like grids (identity row/column cosines) are supported.

Usage:
    Tools/peers/fine_reference.py DIR [--structures GTV,PTV,SacralPlexus,Rectum]
                                      [--step 0.25] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pydicom
from matplotlib.path import Path
from scipy.ndimage import map_coordinates

METRICS = ["D98%", "D95%", "D50%", "D5%", "D2%", "D0.035cc"]


def find(folder, modality):
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            p = os.path.join(root, f)
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"])
            except Exception:
                continue
            if getattr(ds, "Modality", None) == modality:
                return p
    raise SystemExit(f"{folder}: no {modality}")


class Dose:
    def __init__(self, path):
        ds = pydicom.dcmread(path)
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        if not np.allclose(iop, [1, 0, 0, 0, 1, 0]):
            raise SystemExit("only identity orientation supported")
        self.arr = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)  # (F,R,C)
        self.ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        self.dr, self.dc = (float(v) for v in ds.PixelSpacing)  # row spacing (y), column spacing (x)
        off = np.array([float(v) for v in ds.GridFrameOffsetVector])
        if off[0] != 0:  # absolute form
            off = off - self.ipp[2]
        self.z = self.ipp[2] + off
        if np.any(np.diff(self.z) <= 0):
            raise SystemExit("decreasing frame offsets not supported")
        if not np.allclose(np.diff(self.z), self.z[1] - self.z[0]):
            raise SystemExit("irregular frame offsets not supported")
        self.dz = self.z[1] - self.z[0]

    def at(self, x, y, z):
        fi = (x - self.ipp[0]) / self.dc
        fj = (y - self.ipp[1]) / self.dr
        fk = (z - self.z[0]) / self.dz
        F, R, C = self.arr.shape
        out = (fi < -0.5) | (fi > C - 0.5) | (fj < -0.5) | (fj > R - 0.5) | (fk < -0.5) | (fk > F - 0.5)
        coords = np.vstack([np.clip(fk, 0, F - 1), np.clip(fj, 0, R - 1), np.clip(fi, 0, C - 1)])
        d = map_coordinates(self.arr, coords, order=1, mode="nearest")
        d[out] = 0.0
        return d


def structure_planes(rs, name):
    ds = pydicom.dcmread(rs)
    num = None
    for r in ds.StructureSetROISequence:
        if r.ROIName.lower() == name.lower():
            num = int(r.ROINumber)
    if num is None:
        raise SystemExit(f"no ROI {name}")
    planes = {}
    for rc in ds.ROIContourSequence:
        if int(rc.ReferencedROINumber) != num:
            continue
        for c in rc.ContourSequence:
            if c.ContourGeometricType != "CLOSED_PLANAR":
                continue
            pts = np.array([float(v) for v in c.ContourData]).reshape(-1, 3)
            z = round(float(pts[:, 2].mean()), 3)
            planes.setdefault(z, []).append(pts[:, :2])
    return dict(sorted(planes.items()))


def sample(planes, dose: Dose, step: float):
    zs = np.array(list(planes))
    gap = float(np.median(np.diff(zs))) if len(zs) > 1 else dose.dz
    bounds = np.concatenate([[zs[0] - gap / 2], (zs[:-1] + zs[1:]) / 2, [zs[-1] + gap / 2]])
    allpts = np.vstack([p for cs in planes.values() for p in cs])
    lo, hi = allpts.min(0) - step, allpts.max(0) + step
    xs = np.arange(lo[0] + step / 2, hi[0], step)
    ys = np.arange(lo[1] + step / 2, hi[1], step)
    X, Y = np.meshgrid(xs, ys)
    XY = np.column_stack([X.ravel(), Y.ravel()])
    doses, weights = [], []
    for k, (z, contours) in enumerate(planes.items()):
        inside = np.zeros(len(XY), bool)
        for c in contours:
            inside ^= Path(c).contains_points(XY)
        px, py = XY[inside, 0], XY[inside, 1]
        if px.size == 0:
            continue
        z0, z1 = bounds[k], bounds[k + 1]
        n = max(1, int(np.ceil((z1 - z0) / step - 1e-9)))
        h = (z1 - z0) / n
        for j in range(n):
            zz = z0 + (j + 0.5) * h
            doses.append(dose.at(px, py, np.full(px.size, zz)))
            weights.append(np.full(px.size, step * step * h / 1000.0))  # cc
    # contour vertices on the plane and on both faces of its slab (for Dmin / Dmax)
    vd = []
    for k, (z, contours) in enumerate(planes.items()):
        for c in contours:
            for zz in (bounds[k], z, bounds[k + 1]):
                vd.append(dose.at(c[:, 0], c[:, 1], np.full(len(c), zz)))
    return np.concatenate(doses), np.concatenate(weights), np.concatenate(vd)


def metrics(d, w, vd):
    order = np.argsort(-d, kind="stable")
    ds, ws = d[order], w[order]
    cum = np.cumsum(ws)  # volume receiving >= ds[i] (hottest first)
    vol = float(cum[-1])
    row = {"volume_cc": vol, "min_gy": float(min(d.min(), vd.min())),
           "max_gy": float(max(d.max(), vd.max())),
           "min_gy_interior": float(d.min()), "max_gy_interior": float(d.max()),
           "mean_gy": float((d * w).sum() / vol), "samples": int(d.size)}
    for m in METRICS:
        target = float(m[1:-1]) / 100 * vol if m.endswith("%") else float(m[1:-2])
        row[m] = float(np.interp(target, cum, ds))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--structures", default="GTV,PTV,SacralPlexus,Rectum")
    ap.add_argument("--step", type=float, default=0.25, help="sample spacing in mm (x, y and z)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    rs, rd = find(a.folder, "RTSTRUCT"), find(a.folder, "RTDOSE")
    dose = Dose(rd)
    rows = {}
    for name in a.structures.split(","):
        t = time.perf_counter()
        d, w, vd = sample(structure_planes(rs, name), dose, a.step)
        rows[name] = metrics(d, w, vd)
        rows[name]["seconds"] = time.perf_counter() - t
        r = rows[name]
        print(f"{name:14s} V {r['volume_cc']:8.3f} cc  Dmin {r['min_gy']:6.2f}  Dmean {r['mean_gy']:6.3f}  "
              f"Dmax {r['max_gy']:6.2f}  " + "  ".join(f"{m} {r[m]:6.3f}" for m in METRICS)
              + f"  ({r['samples']} samples, {r['seconds']:.1f} s)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"command": " ".join(["Tools/peers/fine_reference.py"] + (argv or sys.argv[1:])),
                       "step_mm": a.step, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
