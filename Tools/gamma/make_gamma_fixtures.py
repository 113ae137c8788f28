#!/usr/bin/env python3
"""Gamma fixtures (Fixtures/gamma) and their reference pass rates, without sbrt.

    python3 Tools/gamma/make_gamma_fixtures.py            # write the doses and expected.json
    python3 Tools/gamma/make_gamma_fixtures.py --full     # also pymedphys at interp_fraction 40 (slow)
    python3 Tools/gamma/make_gamma_fixtures.py --no-write # keep the doses, recompute the references

Needs numpy, pydicom (3.x), numba and pymedphys (pip install pymedphys numba pydicom numpy scipy).

Doses (RT Dose, 16-bit, Dose Grid Scaling, one frame of reference):
  ref.dcm             a smooth analytic SBRT-like dose D(p) on grid A (2.5 mm, axis-aligned)
  eval_same_grid.dcm  1.02 * D(p - s), s = (1.5, 0, 0) mm, sampled on grid A
  eval_other_grid.dcm the same shifted, scaled dose sampled on grid B: 2.0 x 3.0 mm
                      in-plane, 3.0 mm frames, rows along +y, columns along +x, frames
                      towards the feet (Image Orientation 0\\1\\0\\1\\0\\0)
  eval_oblique.dcm    the same dose on grid C, 2.5 mm, rotated 10 degrees about z
  pelvis_shifted/     the bundled pelvis plan's dose moved 1.5 mm to the patient's left
                      (16-bit, cropped to where it is >= 8 % of its maximum, plus 3
                      voxels), with copies of its structure set and plan, for the README
                      example and `sbrt compare --gamma` (--pelvis-only rewrites just it)

Reference pass rates (expected.json), each for 2%/1mm and 1%/1mm, global (normalised to
the reference maximum) and local, 10 % cutoff, gamma <= 1 passes:
  pymedphys  pymedphys.gamma on the doses as stored (axis-aligned grids only: A, B), with
             interp_fraction 10 (its default) and 20 (and 40 with --full), max_gamma
             unlimited (a finite max_gamma makes pymedphys drop unfound points as NaN);
  brute      this script's own search: every reference point, the evaluated dose
             interpolated trilinearly (sbrt's edge rule) at every point of a cubic lattice
             of step DTA/20 and DTA/40 within DTA of the point; passes if any sample has
             Gamma^2 <= 1. Works for any grid, the oblique one included. (On the same-grid
             2%/1mm rows DTA/80 gave 80.601 % global and 69.725 % local, against 80.601 %
             and 69.699 % at DTA/40: DTA/40 is converged to 0.03 points.)
Both searches sample, so both can only miss passes: their rates converge from below.
The reference rate of a row is the brute-force rate at DTA/40 (the finest search here);
the others are kept beside it. (3%/2mm passes 100 % of points in every case here, so it
is not a discriminating row: tests check it is 100 %.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "Tools", "fixtures"))
from fixlib import RT_DOSE_STORAGE, ds_str, iop_strings, save, uid, write_json  # noqa: E402

OUT = os.path.join(ROOT, "Fixtures", "gamma")
SHIFT = np.array([1.5, 0.0, 0.0])
SCALE = 1.02
CENTRE = np.array([2.0, -3.0, 5.0])
FOR_UID = uid("gamma/for")
CRITERIA = [(2.0, 1.0), (1.0, 1.0)]
CUTOFF = 10.0


class Grid:
    """Voxel (i, j, f) at origin + i*sc*row + j*sr*col + f*sz*normal (i column, j row)."""

    def __init__(self, origin, row, col, spacing, size, normal_sign=1.0):
        self.origin = np.asarray(origin, float)
        self.row = np.asarray(row, float)
        self.col = np.asarray(col, float)
        self.normal = normal_sign * np.cross(self.row, self.col)
        self.sc, self.sr, self.sz = spacing            # along row, along column, between frames
        self.nx, self.ny, self.nz = size

    def positions(self):
        i = np.arange(self.nx)[None, None, :, None]
        j = np.arange(self.ny)[None, :, None, None]
        f = np.arange(self.nz)[:, None, None, None]
        return (self.origin + i * self.sc * self.row + j * self.sr * self.col + f * self.sz * self.normal)

    def index(self, p):
        d = p - self.origin
        return np.stack([d @ self.row / self.sc, d @ self.col / self.sr, d @ self.normal / self.sz], axis=-1)


def analytic_dose(p):
    """A steep SBRT-like dose (Gy): a sigmoid shoulder round an ellipsoidal target (about
    50 Gy inside, 80 % -> 20 % over about 7 mm) plus a broad low-dose bath."""
    d = (p - CENTRE) / np.array([1.0, 0.85, 1.15])
    r = np.sqrt((d * d).sum(axis=-1))
    return 48.0 / (1.0 + np.exp((r - 15.0) / 2.5)) + 6.0 * np.exp(-r * r / (2 * 30.0 ** 2))


GRID_A = Grid(CENTRE - np.array([38.35, 34.05, 33.55]), [1, 0, 0], [0, 1, 0], (2.5, 2.5, 2.5), (32, 28, 28))
GRID_B = Grid(CENTRE + np.array([-40.7, -36.2, 39.4]), [0, 1, 0], [1, 0, 0], (2.0, 3.0, 3.0), (37, 28, 27))
_c, _s = np.cos(np.radians(10)), np.sin(np.radians(10))
GRID_C = Grid(CENTRE + np.array([-35.0, -46.0, -33.0]), [_c, _s, 0], [-_s, _c, 0], (2.5, 2.5, 2.5), (34, 34, 28))


def write_dose(path, grid, dose, key, description):
    top = 64000
    scale_s = f"{float(dose.max()) / top:.7e}"
    stored = np.round(dose / float(scale_s)).astype(np.uint16)
    ds = pydicom.Dataset()
    ds.SOPClassUID = RT_DOSE_STORAGE
    ds.SOPInstanceUID = uid(key)
    ds.StudyDate, ds.StudyTime = "20240313", "101500"
    ds.Modality = "RTDOSE"
    ds.Manufacturer = "SBRT Fixture Generator"
    ds.SeriesDescription = description
    ds.ManufacturerModelName = "make_gamma_fixtures.py"
    ds.PatientName, ds.PatientID = "Phantom^Gamma", "SBRT-GAMMA-01"
    ds.StudyInstanceUID = uid("gamma/study")
    ds.SeriesInstanceUID = uid(key + "/series")
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "1", 1, 1
    ds.FrameOfReferenceUID = FOR_UID
    ds.ImagePositionPatient = [ds_str(v, 6) for v in grid.origin]
    ds.ImageOrientationPatient = iop_strings(grid.row, grid.col)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = str(grid.nz)
    ds.FrameIncrementPointer = 0x3004000C
    ds.Rows, ds.Columns = grid.ny, grid.nx
    ds.PixelSpacing = [ds_str(grid.sr), ds_str(grid.sc)]
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.DoseUnits, ds.DoseType, ds.DoseSummationType = "GY", "PHYSICAL", "PLAN"
    sign = 1.0 if np.allclose(grid.normal, np.cross(grid.row, grid.col)) else -1.0
    ds.GridFrameOffsetVector = [ds_str(sign * f * grid.sz, 4) for f in range(grid.nz)]
    ds.DoseGridScaling = scale_s
    ds.PixelData = stored.astype("<u2").tobytes()
    save(ds, path)


def read_dose(path):
    """The dose as stored (Gy, frames x rows x columns) and its grid, read back."""
    ds = pydicom.dcmread(path)
    iop = [float(v) for v in ds.ImageOrientationPatient]
    row, col = np.array(iop[:3]), np.array(iop[3:])
    gfov = [float(v) for v in ds.GridFrameOffsetVector]
    sz = gfov[1] - gfov[0]
    sr, sc = (float(v) for v in ds.PixelSpacing)
    g = Grid([float(v) for v in ds.ImagePositionPatient], row, col, (sc, sr, abs(sz)),
             (int(ds.Columns), int(ds.Rows), int(ds.NumberOfFrames)), 1.0 if sz > 0 else -1.0)
    return g, ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)


def trilinear(dose, grid, p):
    """Trilinear dose at patient points p (..., 3) with sbrt's edge rule: the nearest face's
    value within half a voxel beyond the outermost centres, NaN further out."""
    x = grid.index(p)
    n = np.array([grid.nx, grid.ny, grid.nz], float)
    out = np.any((x < -0.5) | (x > n - 0.5), axis=-1)
    c = np.clip(x, 0, n - 1)
    i0 = np.minimum(np.floor(c).astype(int), np.maximum(n.astype(int) - 2, 0))
    f = c - i0
    i1 = np.minimum(i0 + 1, n.astype(int) - 1)
    v = 0.0
    for bx in (0, 1):
        for by in (0, 1):
            for bz in (0, 1):
                ix = i1[..., 0] if bx else i0[..., 0]
                iy = i1[..., 1] if by else i0[..., 1]
                iz = i1[..., 2] if bz else i0[..., 2]
                w = (f[..., 0] if bx else 1 - f[..., 0]) * (f[..., 1] if by else 1 - f[..., 1]) * (f[..., 2] if bz else 1 - f[..., 2])
                v = v + w * dose[iz, iy, ix]
    return np.where(out, np.nan, v)


def _brute_kernel():
    import numba

    @numba.njit(parallel=True)
    def kernel(pts, dr, crit, off, d2, dose, origin, axes, spacing):
        nz, ny, nx = dose.shape
        n = np.array([nx, ny, nz], np.float64)
        out = np.zeros(len(pts), np.bool_)
        for a in numba.prange(len(pts)):
            for m in range(len(off)):                # offsets by increasing distance
                d = pts[a] + off[m] - origin
                x = np.empty(3)
                inside = True
                for c in range(3):
                    x[c] = (d[0] * axes[c, 0] + d[1] * axes[c, 1] + d[2] * axes[c, 2]) / spacing[c]
                    if x[c] < -0.5 or x[c] > n[c] - 0.5:
                        inside = False
                if not inside:
                    continue
                i0 = np.empty(3, np.int64)
                i1 = np.empty(3, np.int64)
                f = np.empty(3)
                for c in range(3):
                    cc = min(max(x[c], 0.0), n[c] - 1)
                    i0[c] = min(int(np.floor(cc)), max(int(n[c]) - 2, 0))
                    i1[c] = min(i0[c] + 1, int(n[c]) - 1)
                    f[c] = cc - i0[c]
                v = 0.0
                for b in range(8):
                    ix = i1[0] if b & 1 else i0[0]
                    iy = i1[1] if b & 2 else i0[1]
                    iz = i1[2] if b & 4 else i0[2]
                    w = (f[0] if b & 1 else 1 - f[0]) * (f[1] if b & 2 else 1 - f[1]) * (f[2] if b & 4 else 1 - f[2])
                    v += w * dose[iz, iy, ix]
                e = (v - dr[a]) / crit[a]
                if d2[m] + e * e <= 1.0:
                    out[a] = True
                    break
        return out

    return kernel


def brute_rate(ref, ev, dd, dta, local, steps):
    """Pass rate of the lattice search described in the module docstring (numba, offsets
    by increasing distance, stopping at the first sample with Gamma^2 <= 1)."""
    rg, rd = ref
    eg, ed = ev
    norm = rd.max()
    keep = rd >= CUTOFF / 100 * norm
    pts = rg.positions()[keep]
    dr = rd[keep]
    crit = dd / 100 * (dr if local else np.full_like(dr, norm))
    m = np.arange(-steps, steps + 1)
    off = np.stack(np.meshgrid(m, m, m, indexing="ij"), axis=-1).reshape(-1, 3) * (dta / steps)
    d2 = (off * off).sum(axis=1) / dta ** 2
    order = np.argsort(d2, kind="stable")
    off, d2 = off[order], d2[order]
    off, d2 = off[d2 <= 1 + 1e-12], d2[d2 <= 1 + 1e-12]
    axes = np.stack([eg.row, eg.col, eg.normal])
    spacing = np.array([eg.sc, eg.sr, eg.sz])
    passed = _brute_kernel()(pts, dr, crit, off, d2, np.ascontiguousarray(ed), eg.origin, axes, spacing)
    return 100.0 * float(passed.sum()) / len(pts), int(len(pts))


def zyx(grid, dose):
    """Ascending patient z, y, x axes and the dose reordered to them (axis-aligned grids)."""
    axes_vec = [grid.row * grid.sc, grid.col * grid.sr, grid.normal * grid.sz]
    arr = np.transpose(dose, (2, 1, 0))            # (i, j, f)
    coords = [None, None, None]
    order = [None, None, None]
    for a, v in enumerate(axes_vec):
        p = int(np.argmax(np.abs(v)))
        assert abs(abs(v[p]) - np.linalg.norm(v)) < 1e-6, "not axis-aligned"
        c = grid.origin[p] + v[p] * np.arange(arr.shape[a])
        if v[p] < 0:
            arr = np.flip(arr, axis=a)
            c = c[::-1]
        coords[p], order[p] = np.ascontiguousarray(c), a
    arr = np.transpose(arr, (order[2], order[1], order[0]))
    return (coords[2], coords[1], coords[0]), np.ascontiguousarray(arr)


def pymedphys_rate(ref, ev, dd, dta, local, interp_fraction):
    import pymedphys
    ax_r, d_r = zyx(*ref)
    ax_e, d_e = zyx(*ev)
    g = pymedphys.gamma(ax_r, d_r, ax_e, d_e, dose_percent_threshold=dd, distance_mm_threshold=dta,
                        lower_percent_dose_cutoff=CUTOFF, interp_fraction=interp_fraction, local_gamma=local)
    valid = g[~np.isnan(g)]
    return 100.0 * float(np.sum(valid <= 1)) / len(valid), int(len(valid))


def write_all():
    os.makedirs(OUT, exist_ok=True)
    shifted = lambda p: SCALE * analytic_dose(p - SHIFT)  # noqa: E731
    write_dose(os.path.join(OUT, "ref.dcm"), GRID_A, analytic_dose(GRID_A.positions()), "gamma/ref", "analytic reference")
    write_dose(os.path.join(OUT, "eval_same_grid.dcm"), GRID_A, shifted(GRID_A.positions()), "gamma/same",
               "reference x 1.02 shifted 1.5 mm, same grid")
    write_dose(os.path.join(OUT, "eval_other_grid.dcm"), GRID_B, shifted(GRID_B.positions()), "gamma/other",
               "reference x 1.02 shifted 1.5 mm, other grid")
    write_dose(os.path.join(OUT, "eval_oblique.dcm"), GRID_C, shifted(GRID_C.positions()), "gamma/oblique",
               "reference x 1.02 shifted 1.5 mm, oblique grid")
    write_pelvis_shifted()


def write_pelvis_shifted():
    """The pelvis dose moved 1.5 mm to the patient's left, cropped to the box of voxels at
    or above 8 % of its maximum plus 3 voxels (the gamma threshold is 10 %), 16-bit."""
    src = os.path.join(ROOT, "Fixtures", "pelvis")
    dst = os.path.join(OUT, "pelvis_shifted")
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        if name.startswith(("RS.", "RP.")):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
        if name.startswith("RD."):
            ds = pydicom.dcmread(os.path.join(src, name))
            dose = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
            idx = np.argwhere(dose >= 0.08 * dose.max())
            lo = np.maximum(idx.min(axis=0) - 3, 0)
            hi = np.minimum(idx.max(axis=0) + 4, dose.shape)
            dose = dose[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
            iop = np.array([float(v) for v in ds.ImageOrientationPatient])
            sr, sc = (float(v) for v in ds.PixelSpacing)
            gfov = np.array([float(v) for v in ds.GridFrameOffsetVector])
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            ipp = ipp + lo[2] * sc * iop[:3] + lo[1] * sr * iop[3:] + (gfov[lo[0]] - gfov[0]) * np.cross(iop[:3], iop[3:])
            ipp[0] += 1.5
            scale_s = f"{dose.max() / 64000:.7e}"
            ds.PixelData = np.round(dose / float(scale_s)).astype("<u2").tobytes()
            ds.BitsAllocated = ds.BitsStored = 16
            ds.HighBit = 15
            ds.DoseGridScaling = scale_s
            ds.NumberOfFrames, ds.Rows, ds.Columns = str(dose.shape[0]), dose.shape[1], dose.shape[2]
            ds.GridFrameOffsetVector = [ds_str(v - gfov[lo[0]], 4) for v in gfov[lo[0]:hi[0]]]
            ds.ImagePositionPatient = [ds_str(v, 6) for v in ipp]
            ds.SOPInstanceUID = uid("gamma/pelvis_shifted")
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.SeriesInstanceUID = uid("gamma/pelvis_shifted/series")
            ds.SeriesDescription = "pelvis dose moved 1.5 mm left, cropped (gamma example)"
            if "DVHSequence" in ds:
                del ds.DVHSequence
            save(ds, os.path.join(dst, "RD.pelvis_shifted.dcm"))


def references(full):
    ref = read_dose(os.path.join(OUT, "ref.dcm"))
    cases = {"same_grid": "eval_same_grid.dcm", "other_grid": "eval_other_grid.dcm", "oblique": "eval_oblique.dcm"}
    out = {"cutoff_percent": CUTOFF, "normalisation": "reference maximum", "pass": "gamma <= 1", "cases": {}}
    for case, name in cases.items():
        ev = read_dose(os.path.join(OUT, name))
        rows = []
        for dd, dta in CRITERIA:
            for local in (False, True):
                t = time.time()
                row = {"criteria": f"{dd:g}%/{dta:g}mm", "local": local}
                row["brute_20"], row["points"] = brute_rate(ref, ev, dd, dta, local, 20)
                row["brute_40"], _ = brute_rate(ref, ev, dd, dta, local, 40)
                if case != "oblique":
                    for f in ([10, 20, 40] if full else [10, 20]):
                        row[f"pymedphys_{f}"], n = pymedphys_rate(ref, ev, dd, dta, local, f)
                        assert n == row["points"], (n, row["points"])
                row["reference"], row["reference_source"] = row["brute_40"], "brute_40"
                print(case, row, f"{time.time() - t:.1f} s", flush=True)
                rows.append(row)
        out["cases"][case] = {"evaluated": name, "rates": rows}
    write_json(os.path.join(OUT, "expected.json"), out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="also pymedphys with interp_fraction 40 (slow)")
    ap.add_argument("--no-write", action="store_true", help="keep the doses, recompute the references")
    ap.add_argument("--pelvis-only", action="store_true", help="rewrite pelvis_shifted/ only")
    a = ap.parse_args()
    if a.pelvis_only:
        write_pelvis_shifted()
        raise SystemExit
    if not a.no_write:
        write_all()
    references(a.full)
