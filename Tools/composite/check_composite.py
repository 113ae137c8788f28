#!/usr/bin/env python3
"""Independent check of `sbrt composite`: recompute the voxel-wise EQD2 composite with
numpy/scipy from the input RT Doses and compare it with sbrt's RT Dose, voxel by voxel.

    python3 Tools/composite/check_composite.py --sbrt .build/release/sbrt

Cases (all on the fixtures, alpha/beta 3 Gy by default, no recovery):
  coincident   Fixtures/pelvis (5 fx, PLAN) + the same RT Dose as a 3-fraction course:
               same grid, no interpolation
  uniform      the same, both courses given as the bare RT Dose file: no structure set,
               one alpha/beta everywhere (sbrt's uniform-alpha/beta kernel path)
  resampled    Fixtures/reirradiation/prior (FRACTION: the course total, used as it is,
               10 fx, 3 mm grid) + pelvis: trilinear resampling onto the pelvis dose grid
  per-session  Fixtures/reirradiation/prior_session (FRACTION_SESSION, stated with
               :per-session: x 10) + pelvis: the same composite as `resampled`
  registered   Fixtures/reirradiation/moved (two BEAM doses summed, 3 fx, another frame of
               reference, Spatial Registration 5 degrees about z + shift) + pelvis

In every other case the pelvis structure set is the reference's: its SacralPlexus is named as
CNS, so its voxels take alpha/beta 2 Gy (docs/composite.md), recomputed here from the
contours: a voxel centre is inside when it lies in the slab of a contour plane (half-way
to the neighbouring planes, half a slice beyond the end planes of a run) and inside the
plane's polygons by the even-odd rule.

Independent of sbrt's code: pydicom reads the files; geometry from IPP/IOP/PixelSpacing/
GFOV; trilinear interpolation by scipy.ndimage.map_coordinates (order 1) with the edge
rule sbrt documents (within half a voxel of the outer centres: nearest face; beyond: 0).
Pass: max |difference| <= 1e-3 Gy + half the output's Dose Grid Scaling.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from scipy.ndimage import map_coordinates

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FX = os.path.join(ROOT, "Fixtures")


def geometry(ds):
    """(origin, 3x3 matrix whose columns are the scaled i, j, k axes, shape (nz, ny, nx))."""
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = [float(v) for v in ds.ImageOrientationPatient]
    row, col = np.array(iop[:3]), np.array(iop[3:])
    normal = np.cross(row, col)
    ps = [float(v) for v in ds.PixelSpacing]  # row spacing, column spacing
    gfov = np.array([float(v) for v in ds.GridFrameOffsetVector])
    step = (gfov[-1] - gfov[0]) / (len(gfov) - 1) if len(gfov) > 1 else 1.0
    origin = ipp + normal * gfov[0]
    m = np.column_stack([row * ps[1], col * ps[0], normal * step])
    return origin, m, (int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))


def dose(ds):
    arr = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    return arr.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))


def centres(origin, m, shape):
    nz, ny, nx = shape
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    idx = np.stack([i.ravel(), j.ravel(), k.ravel()]).astype(np.float64)
    return (origin[:, None] + m @ idx)  # 3 x N patient points


def resample(src_ds, src_dose, points):
    """Trilinear values of src at patient points (3 x N); 0 beyond half a voxel."""
    o, m, shape = geometry(src_ds)
    ijk = np.linalg.solve(m, points - o[:, None])  # continuous (i, j, k)
    nz, ny, nx = shape
    n = np.array([nx, ny, nz])[:, None]
    inside = np.all((ijk >= -0.5) & (ijk <= n - 0.5), axis=0)
    c = np.clip(ijk, 0, n - 1)
    vals = map_coordinates(src_dose, [c[2], c[1], c[0]], order=1, mode="nearest")
    return np.where(inside, vals, 0.0)


def max_on_reference(course_rd, reference_rd):
    """The largest value of a course's RT Dose resampled onto a reference RT Dose's grid
    (same frame of reference): what sbrt composite reports as the course's maximum."""
    ref = pydicom.dcmread(reference_rd)
    ds = pydicom.dcmread(course_rd)
    return float(resample(ds, dose(ds), centres(*geometry(ref))).max())


def eqd2(D, n, ab):
    return D * (D / n + ab) / (2 + ab)


CNS_WORDS = ("cord", "cauda", "thecal", "brain", "chiasm", "optic", "plex", "spinalcanal", "hippocamp", "nerveroot", "sacralnerve", "cns")


def even_odd(px, py, poly):
    inside = np.zeros(np.shape(px), bool)
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for a, b, c, d in zip(x0, y0, x1, y1):
        if b != d:
            inside ^= ((b > py) != (d > py)) & (px < (c - a) * (py - b) / (d - b) + a)
    return inside


def alpha_beta_map(folder, points, default=3.0):
    """alpha/beta per point: 2 Gy inside the CNS-named ROIs of the folder's structure set
    (axial contours, prism slabs), the default elsewhere."""
    rs = pydicom.dcmread(find(folder, "RS.")[0])
    cts = [pydicom.dcmread(p) for p in find(folder, "CT")]
    spacing = np.median(np.diff(sorted(float(c.ImagePositionPatient[2]) for c in cts)))
    names = {r.ROINumber: r.ROIName for r in rs.StructureSetROISequence}
    ab = np.full(points.shape[1], default)
    for rc in rs.ROIContourSequence:
        key = "".join(ch for ch in names[rc.ReferencedROINumber].lower() if ch.isalnum())
        if "prv" in key or not any(w in key for w in CNS_WORDS):
            continue
        planes = {}
        for c in rc.ContourSequence:
            pts = np.array([float(v) for v in c.ContourData]).reshape(-1, 3)
            planes.setdefault(round(pts[0, 2], 3), []).append(pts[:, :2])
        zs = sorted(planes)
        for n, z in enumerate(zs):
            below = (z - zs[n - 1]) / 2 if n > 0 and z - zs[n - 1] <= 1.5 * spacing else spacing / 2
            above = (zs[n + 1] - z) / 2 if n + 1 < len(zs) and zs[n + 1] - z <= 1.5 * spacing else spacing / 2
            sel = (points[2] >= z - below) & (points[2] < z + above)
            inside = np.zeros(sel.sum(), bool)
            for poly in planes[z]:
                inside ^= even_odd(points[0, sel], points[1, sel], poly)
            idx = np.flatnonzero(sel)[inside]
            ab[idx] = np.minimum(ab[idx], 2.0)
    return ab


def find(folder, prefix):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(prefix))


def registration_matrix(reg_path, moving_for, reference_for):
    reg = pydicom.dcmread(reg_path)
    mats = {reg.FrameOfReferenceUID: np.eye(4)}
    for it in reg.RegistrationSequence:
        m = np.eye(4)
        for mr in it.MatrixRegistrationSequence:
            for mx in mr.MatrixSequence:
                m = np.array([float(v) for v in mx.FrameOfReferenceTransformationMatrix]).reshape(4, 4) @ m
        mats[it.FrameOfReferenceUID] = m
    return np.linalg.inv(mats[reference_for]) @ mats[moving_for]  # moving -> reference


def run(sbrt, args, out):
    cmd = [sbrt, "composite"] + args + ["--alpha-beta", "3", "--no-report", "--out", out]
    # Exit 1 is the composite's verdict on its flags (raised or not evaluable); the dose
    # written is the same, and it is what is compared here.
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL)
    if p.returncode not in (0, 1):
        raise subprocess.CalledProcessError(p.returncode, cmd)
    return pydicom.dcmread(out)


def compare(name, ours, expected):
    got = dose(ours)
    half_q = float(ours.DoseGridScaling) / 2
    diff = np.abs(got - expected.reshape(got.shape))
    worst = float(diff.max())
    tol = 1e-3 + half_q
    ok = worst <= tol
    print(f"{name:12s} voxels {got.size:7d}  max EQD2 {expected.max():8.3f} Gy  max |diff| {worst:.3e} Gy"
          f"  (tolerance {tol:.3e})  {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sbrt", default=os.path.join(ROOT, ".build", "release", "sbrt"))
    a = ap.parse_args()
    pel = os.path.join(FX, "pelvis")
    rd_pel_path = find(pel, "RD.")[0]
    rd_pel = pydicom.dcmread(rd_pel_path)
    ref_o, ref_m, ref_shape = geometry(rd_pel)
    ref_pts = centres(ref_o, ref_m, ref_shape)
    d_pel = dose(rd_pel).ravel()
    ab = alpha_beta_map(pel, ref_pts)
    print(f"alpha/beta 2 Gy (CNS default) at {int((ab == 2).sum())} of {ab.size} reference voxels")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        # coincident
        ours = run(a.sbrt, ["--course", f"{rd_pel_path}:fractions=3:label=boost", "--course", pel], os.path.join(tmp, "a.dcm"))
        ok &= compare("coincident", ours, eqd2(d_pel, 3, ab) + eqd2(d_pel, 5, ab))
        # uniform: the same two courses given as bare RT Dose files: no structure set, so no
        # alpha/beta map (sbrt's uniform kernel path), alpha/beta 3 Gy everywhere
        ours = run(a.sbrt, ["--course", f"{rd_pel_path}:fractions=3:label=boost", "--course", f"{rd_pel_path}:fractions=5"],
                   os.path.join(tmp, "u.dcm"))
        ok &= compare("uniform", ours, eqd2(d_pel, 3, 3.0) + eqd2(d_pel, 5, 3.0))

        # resampled: the FRACTION dose is the course total
        prior = find(os.path.join(FX, "reirradiation", "prior"), "RD.")[0]
        ds = pydicom.dcmread(prior)
        d_prior = resample(ds, dose(ds), ref_pts)
        fraction = run(a.sbrt, ["--course", os.path.join(FX, "reirradiation", "prior") + ":date=2025-03-02",
                            "--course", pel + ":date=2026-01-15"], os.path.join(tmp, "b.dcm"))
        ok &= compare("resampled", fraction, eqd2(d_prior, 10, ab) + eqd2(d_pel, 5, ab))

        # per-session: one session's dose, stated, x 10 fractions
        session = find(os.path.join(FX, "reirradiation", "prior_session"), "RD.")[0]
        ds = pydicom.dcmread(session)
        d_session = resample(ds, dose(ds) * 10, ref_pts)
        ours = run(a.sbrt, ["--course", os.path.join(FX, "reirradiation", "prior_session") + ":date=2025-03-02:per-session",
                            "--course", pel + ":date=2026-01-15"], os.path.join(tmp, "s.dcm"))
        ok &= compare("per-session", ours, eqd2(d_session, 10, ab) + eqd2(d_pel, 5, ab))
        same = float(np.abs(dose(ours) - dose(fraction)).max())
        print(f"{'':12s} per-session x 10 against the FRACTION course total: max |diff| {same:.3e} Gy")

        # registered: two BEAM doses summed on their grid, then resampled through the SRO
        moved = os.path.join(FX, "reirradiation", "moved")
        beams = [pydicom.dcmread(p) for p in find(moved, "RD.")]
        d_moved = sum(dose(b) for b in beams)
        m = registration_matrix(find(moved, "REG.")[0], beams[0].FrameOfReferenceUID, rd_pel.FrameOfReferenceUID)
        pts_h = np.vstack([ref_pts, np.ones(ref_pts.shape[1])])
        src_pts = (np.linalg.inv(m) @ pts_h)[:3]
        d_m = resample(beams[0], d_moved, src_pts)
        ours = run(a.sbrt, ["--course", moved + ":date=2025-09-01", "--course", pel + ":date=2026-01-15"], os.path.join(tmp, "c.dcm"))
        ok &= compare("registered", ours, eqd2(d_m, 3, ab) + eqd2(d_pel, 5, ab))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
