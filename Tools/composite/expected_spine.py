#!/usr/bin/env python3
"""Expected numbers of `sbrt composite` on Fixtures/reirradiation/spine, computed with
numpy from the fixture files (read with pydicom), independently of sbrt's code.

    python3 Tools/composite/expected_spine.py [Fixtures/reirradiation/spine]

writes spine/expected.json: for each scenario the sbrt arguments, and per structure the
courses' physical maxima, BED2 of each course's maximum, their sum (the basis of the
published cumulative limits), the voxel-wise cumulative BED2 maximum, the cumulative
EQD2 and BED maxima (with the composite's alpha/beta and recovery), the alpha/beta and
its source, and the flags the documented rules raise (docs/composite.md).

Maxima. Doses are constant on node regions that reach one node beyond each run of a
structure (Tools/fixtures/spine.py), and sbrt samples every map trilinearly between
nodes, spreading each sample's dose over ± half the change across its box (at most
sqrt(3)/2 of its cell's corner range). A structure's maximum is pinned between two
bounds computed here: over the cells that meet the structure, the largest corner plus
the corner range (no sample's dose plus spread can exceed it; in a flat cell it is the
corner value), and the largest value of a cell lying wholly inside the structure whose
eight corners agree (every sample in that cell has it, with no spread). The script writes a maximum only where the two
bounds agree to 1e-9 and stops otherwise, so each number is exact, not a model of
sbrt's sampling. (Cumulative EQD2/BED maxima whose cells mix the CNS and the default
alpha/beta at a face are not pinned and are written as null.)

Alpha/beta per node: 2 Gy inside the CNS structures (SpinalCord, ThecalSac: the
composite's CNS default) unless the scenario sets them, the scenario's default
elsewhere; a node is inside a box when its centre is (no centre lies on a face).
"""

from __future__ import annotations

import datetime
import json
import os
import sys

import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CNS = {"SpinalCord", "ThecalSac"}          # CNS by name (docs/composite.md)
TARGET_TYPES = {"GTV", "CTV", "PTV", "ITV"}


# ------------------------------------------------------------------ reading
def read_dose(path):
    ds = pydicom.dcmread(path)
    nz, ny, nx = int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns)
    d = ds.pixel_array.astype(np.float64).reshape(nz, ny, nx) * float(ds.DoseGridScaling)
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    sp = float(ds.PixelSpacing[0])
    gfov = np.array([float(v) for v in ds.GridFrameOffsetVector])
    assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    assert np.allclose(np.diff(gfov), sp) and float(ds.PixelSpacing[1]) == sp
    return d, ipp, sp


def fractions(plan_path):
    return int(pydicom.dcmread(plan_path).FractionGroupSequence[0].NumberOfFractionsPlanned)


def read_boxes(rs_path, ipp, sp):
    """ROI name -> (type, [box per contiguous run of planes]); a box is ((x0, x1), (y0, y1),
    (z0, z1)) in node-index units of the dose grid, z from the prism end caps (half a
    slice beyond the first and last plane of each run)."""
    ds = pydicom.dcmread(rs_path)
    names = {r.ROINumber: r.ROIName for r in ds.StructureSetROISequence}
    types = {o.ReferencedROINumber: o.RTROIInterpretedType for o in ds.RTROIObservationsSequence}
    out = {}
    for rc in ds.ROIContourSequence:
        contours = [np.array([float(v) for v in c.ContourData]).reshape(-1, 3) for c in rc.ContourSequence]
        for p in contours:  # every contour the same axis-aligned rectangle
            assert len(p) == 4 and len(set(p[:, 0])) == 2 and len(set(p[:, 1])) == 2
            assert np.allclose(p[:, :2].min(0), contours[0][:, :2].min(0)) and np.allclose(p[:, :2].max(0), contours[0][:, :2].max(0))
        xy = [((contours[0][:, a].min() - ipp[a]) / sp, (contours[0][:, a].max() - ipp[a]) / sp) for a in range(2)]
        planes = sorted({round((p[0, 2] - ipp[2]) / sp) for p in contours})
        runs, start = [], planes[0]
        for a, b in zip(planes, planes[1:] + [None]):
            if b is None or b - a > 1:
                runs.append((start - 0.5, a + 0.5))
                start = b
        out[names[rc.ReferencedROINumber]] = (types[rc.ReferencedROINumber], [(xy[0], xy[1], r) for r in runs])
    return out


# ------------------------------------------------------------------ maxima
def inside_nodes(boxes, shape):
    z, y, x = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    m = np.zeros(shape, bool)
    for (x0, x1), (y0, y1), (z0, z1) in boxes:
        for lo, hi, c in ((x0, x1, x), (y0, y1, y), (z0, z1, z)):
            assert not np.any((c == lo) | (c == hi)), "a node centre on a face"
        m |= (x > x0) & (x < x1) & (y > y0) & (y < y1) & (z > z0) & (z < z1)
    return m


def structure_max(m, boxes):
    """The maximum of the trilinear interpolation of node map m[z, y, x] over the boxes."""
    upper, best = -np.inf, -np.inf
    for (x0, x1), (y0, y1), (z0, z1) in boxes:
        lo = [int(np.floor(v)) for v in (z0, y0, x0)]
        hi = [int(np.ceil(v)) for v in (z1, y1, x1)]
        for k in range(lo[0], hi[0]):          # every cell meeting the box: its largest corner, plus
            for j in range(lo[1], hi[1]):      # the most a sample's spread can add (sqrt(3)/2 x the
                for i in range(lo[2], hi[2]):  # corner range, taken as 1 x): 0 in a flat cell
                    c = m[k:k + 2, j:j + 2, i:i + 2]
                    upper = max(upper, float(c.max() + (c.max() - c.min())))
        a = [int(np.ceil(v)) for v in (z0, y0, x0)]
        b = [int(np.floor(v)) for v in (z1, y1, x1)]
        for k in range(a[0], b[0]):
            for j in range(a[1], b[1]):
                for i in range(a[2], b[2]):
                    c = m[k:k + 2, j:j + 2, i:i + 2]
                    if c.max() - c.min() <= 1e-12 * max(1.0, abs(c.max())):
                        best = max(best, float(c[0, 0, 0]))
    if not abs(upper - best) <= 1e-9 * max(1.0, upper):
        raise SystemExit(f"maximum not pinned: bounds {best} and {upper}; the fixture design does not hold")
    return upper


# ------------------------------------------------------------------ radiobiology (LQ: Fowler, Br J Radiol 1989)
def bed(D, n, ab):
    return D * (1 + D / (n * ab))


def jones_grant(b, tol, years):
    """Jones & Grant 2014 (as DICOMautomaton implements it): t clamped to 0-3 years."""
    t = min(max(years, 0.0), 3.0)
    r = 1.5 + np.exp(1.2 * (t - 1))
    x = b / tol
    eff = tol * (1 - np.power(np.clip(1 - x, 0, None), 1 / (1 + r)))
    return np.where((x > 0) & (x < 1), eff, b), r


def days(a, b):
    return (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days


# ------------------------------------------------------------------ flags (docs/composite.md)
def flags(entries, labels, frac, interval_days, sahgal_on, dates):
    out = []
    newest = labels[-1]
    for name, e in entries.items():
        s, v = e["sum_of_maxima_bed2"], e["voxel_wise_cumulative_bed2"]
        if e["organ"]:
            out.append(dict(rule="chandy2020-cumulative-bed2-200", structure=name, value=s, voxel_wise_value=v, exceeded=s > 200))
        if name == "SpinalCord":
            out.append(dict(rule="nieder2006-cumulative-bed2", structure=name, value=s, voxel_wise_value=v, exceeded=s > 135.5))
            for c in labels:
                b = e["courses"][c]["bed2_of_max"]
                out.append(dict(rule="nieder2006-course-bed2", structure=name, course=c, value=b, exceeded=b > 98))
        if name == sahgal_on:
            n_cum, n_new = s / 2, e["courses"][newest]["bed2_of_max"] / 2
            out.append(dict(rule="sahgal2012-cumulative-nbed", structure=name, value=n_cum, voxel_wise_value=v / 2, exceeded=n_cum > 70))
            out.append(dict(rule="sahgal2012-sbrt-course-nbed", structure=name, course=newest, value=n_new, exceeded=n_new > 25))
            share = 100 * n_new / n_cum
            out.append(dict(rule="sahgal2012-sbrt-share", structure=name, course=newest, value=share, exceeded=share > 50))
        if name.startswith("VB"):
            for c in labels:
                per_fx = e["courses"][c]["physical_max_gy"] / frac[c]
                out.append(dict(rule="sahgal2013-vertebra-dose-per-fraction", structure=name, course=c, value=per_fx, exceeded=per_fx >= 24))
    months = interval_days / 30.4375
    lt6, lt5 = not at_least_months(dates, 6), not at_least_months(dates, 5)
    out.append(dict(rule="interval-6-months", value=months, exceeded=lt6))
    out.append(dict(rule="nieder2006-interval", structure="SpinalCord", value=months, exceeded=lt6))
    out.append(dict(rule="sahgal2012-interval", structure=sahgal_on, value=months, exceeded=lt5))
    return out


def at_least_months(dates, n):
    """Whether the current course is at least n calendar months after the prior one."""
    a, b = (datetime.date.fromisoformat(dates[k]) for k in ("prior", "current"))
    y, m = divmod(a.month - 1 + n, 12)
    limit = datetime.date(a.year + y, m + 1, min(a.day, [31, 29 if (a.year + y) % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m]))
    return b >= limit


# ------------------------------------------------------------------ scenarios
def scenario(folder, name, args, dates, structures="current", default_ab=3.0, user_ab=None, tol=None):
    d_prior, ipp, sp = read_dose(os.path.join(folder, "prior", "RD.prior.dcm"))
    d_cur, ipp2, sp2 = read_dose(os.path.join(folder, "current", "RD.current.dcm"))
    assert np.allclose(ipp, ipp2) and sp == sp2 and d_prior.shape == d_cur.shape   # coincident grids
    frac = {"prior": fractions(os.path.join(folder, "prior", "RP.prior.dcm")),
            "current": fractions(os.path.join(folder, "current", "RP.current.dcm"))}
    rs = [f for f in sorted(os.listdir(os.path.join(folder, structures))) if f.startswith("RS.")][0]
    boxes = read_boxes(os.path.join(folder, structures, rs), ipp, sp)
    user_ab = user_ab or {}
    ab = np.full(d_prior.shape, default_ab)
    assigned = {}
    for roi in boxes:
        if roi in user_ab:
            assigned[roi] = (user_ab[roi], "user")
        elif roi in CNS and default_ab > 2:
            assigned[roi] = (2.0, "cns-default")
    owned = np.zeros(ab.shape, bool)
    for roi, (value, _) in assigned.items():          # inside structures: the lowest assigned alpha/beta wins
        m = inside_nodes(boxes[roi][1], ab.shape)
        ab[m & ~owned] = value
        ab[m & owned] = np.minimum(ab[m & owned], value)
        owned |= m
    doses = {"prior": d_prior, "current": d_cur}
    labels = ["prior", "current"]
    interval = days(dates["prior"], dates["current"])
    recovery = None
    b_prior = bed(d_prior, frac["prior"], ab)
    if tol is not None:
        eff, r = jones_grant(b_prior, tol, interval / 365.25)
        b_prior = np.where(np.abs(ab - 2) < 1e-9, eff, b_prior)   # applied at alpha/beta 2 only
        recovery = dict(model="jones-grant", tolerance_bed_gy=tol, interval_days=interval, r=float(r))
    cum_bed = b_prior + bed(d_cur, frac["current"], ab)
    cum_eqd2 = cum_bed / (1 + 2 / ab)
    cum_bed2 = sum(bed(doses[c], frac[c], 2.0) for c in labels)
    entries = {}
    for roi, (rtype, box) in boxes.items():
        e = {"type": rtype, "organ": rtype not in TARGET_TYPES, "courses": {}}
        for c in labels:
            pm = structure_max(doses[c], box)
            e["courses"][c] = {"physical_max_gy": pm, "bed2_of_max": bed(pm, frac[c], 2.0)}
        e["sum_of_maxima_bed2"] = sum(e["courses"][c]["bed2_of_max"] for c in labels)
        e["voxel_wise_cumulative_bed2"] = structure_max(cum_bed2, box)
        met = sorted({float(v) for v in ab[inside_nodes(box, ab.shape)]})
        e["alpha_beta_gy"] = met
        e["alpha_beta_source"] = assigned.get(roi, (None, "global-default"))[1]
        try:
            e["cumulative_eqd2_max"] = structure_max(cum_eqd2, box)
            e["cumulative_bed_max"] = structure_max(cum_bed, box)
        except SystemExit:
            e["cumulative_eqd2_max"] = e["cumulative_bed_max"] = None   # not pinned by the design (mixed alpha/beta at a face)
        entries[roi] = e
    sahgal_on = "ThecalSac" if "ThecalSac" in boxes else "SpinalCord"
    return {"name": name, "args": args, "fractions": frac, "interval_days": interval, "recovery": recovery,
            "sahgal_applied_to": sahgal_on, "structures": entries,
            "flags": flags(entries, labels, frac, interval, sahgal_on, dates)}


def scenarios(folder):
    prior, cur = "{dir}/prior", "{dir}/current"
    dates = {"prior": "2024-01-15", "current": "2025-03-01"}
    base = ["--course", prior + ":date=" + dates["prior"], "--course", cur + ":date=" + dates["current"]]
    out = [
        scenario(folder, "default", base, dates),
        scenario(folder, "user_alpha_beta", base + ["--structure-alpha-beta", "SpinalCord=3,ThecalSac=3"], dates,
                 user_ab={"SpinalCord": 3.0, "ThecalSac": 3.0}),
        scenario(folder, "cord_only", base + ["--structures", "{dir}/cord_only"], dates, structures="cord_only"),
        scenario(folder, "jones_grant", base + ["--recovery-model", "jones-grant", "--tolerance-bed", "100"], dates, tol=100.0),
    ]
    beyond = {"prior": "2021-06-01", "current": dates["current"]}
    out.append(scenario(folder, "jones_grant_beyond_3_years",
                        ["--course", prior + ":date=" + beyond["prior"], "--course", cur + ":date=" + beyond["current"],
                         "--recovery-model", "jones-grant", "--tolerance-bed", "100"], beyond, tol=100.0))
    soon = {"prior": "2024-11-01", "current": dates["current"]}
    out.append({"name": "jones_grant_within_1_year", "interval_days": days(soon["prior"], soon["current"]),
                "args": ["--course", prior + ":date=" + soon["prior"], "--course", cur + ":date=" + soon["current"],
                         "--recovery-model", "jones-grant", "--tolerance-bed", "100"], "exit": 2})
    return out


def rounded(o):
    if isinstance(o, dict):
        return {k: rounded(v) for k, v in o.items()}
    if isinstance(o, list):
        return [rounded(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return round(float(o), 9)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return o


def write(folder):
    doc = {"description": "expected sbrt composite numbers on the spine courses, by Tools/composite/expected_spine.py "
                          "(numpy, from the fixture files); arguments use {dir} for this folder",
           "scenarios": rounded(scenarios(folder))}
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Fixtures", "reirradiation", "spine"))
