#!/usr/bin/env python3
"""Side-by-side DVH numbers of sbrt and the peers users have today.

For one DICOM folder (CT series, RT Structure Set, RT Dose; RT Plan optional) this
runs, each with its defaults as a user would:

  sbrt             `sbrt dvh DIR --format json --metrics "D98%,D95%,D50%,D5%,D2%,D0.035cc"`
  plastimatch      two ways:
    "pm CT grid"   `plastimatch convert --input RS --referenced-ct DIR --output-ss-img ss.nrrd
                    --output-ss-list ss.txt` (structures rasterised on the CT grid), then
                   `plastimatch dvh --input-ss-img ss.nrrd --input-ss-list ss.txt
                    --input-dose RD --normalization vox [--bin-width W --num-bins N]`
                   (dose linearly resampled onto the CT grid by plastimatch)
    "pm --input"   `plastimatch dvh --input DIR --normalization vox [...]`: one step; in
                   plastimatch 1.9.4 this does NOT load the CT series, it rasterises on
                   a grid of its own (in-plane spacing = structure-set extent / 512, z =
                   contour plane spacing; printed by plastimatch as the ss voxel size)
                   with both the default 0.5 Gy bins and finer 0.01 Gy bins
                   (`--bin-width 0.01 --num-bins N`).
  dicompyler-core  `dicompylercore.dvhcalc.get_dvh(RS, RD, roi_number)` with defaults.
  TPS              the planning system's DVHs embedded in the RT Dose (DVH Sequence),
                   when present, decoded from DVH Data (not the summary attributes).

Conventions used to turn each tool's output into numbers (so the comparison is of the
tools' geometry and dose sampling, not of this script's arithmetic):

  * Dx (x % or x cc) = the dose at which the tool's cumulative curve falls to x, by
    LINEAR INTERPOLATION between the curve's points (sbrt does the same internally).
    dicompyler-core's own `statistic("D95")` is nearest-bin; it is also recorded in
    the JSON output (`native`), not in the tables.
  * plastimatch: each voxel goes to bin floor(d/w + 0.5), i.e. the CSV row labelled L
    holds the voxels with L - w/2 <= d < L + w/2, and the cumulative row L is the
    count with d >= L - w/2. Curve points are therefore placed at (L - w/2). Reading
    the row labels as doses (as a naive user might) shifts every Dx up by w/2
    (0.25 Gy with the default bins). Overflow (d > (N-1) w) is clamped into the last
    bin. Volume = voxel count x the ss-image voxel volume. Mean = sum(count x L) / N
    (bin centres). Dmin / Dmax = label of the first / last non-empty bin (+- w/2).
  * dicompyler-core: 1 cGy bins, cumulative count at bin edge e = volume with d >= e;
    min / max / mean / volume are its DVH properties (min and max are the UPPER edge
    of the first / last non-empty bin).
  * TPS: cumulative DVH Data pairs (bin width, volume); volume at the lower edge of
    each bin; min / max as the upper edge of the first / last non-empty bin (same as
    `sbrt info`), mean from bin centres.

Usage:
    Tools/peers/compare_dvh.py DIR [--sbrt PATH] [--fine-bin 0.01] [--reference REF.json]
                                   [--json OUT.json] [--structures A,B]
Output: Markdown on standard output, one table per structure (and, with --reference,
the signed differences from the first reference).

dicompyler-core 0.5.6 does not import with pydicom 3: run this with a Python that has
pydicom<3 (e.g. `python3 -m venv --system-site-packages V && V/bin/pip install
dicompyler-core "pydicom<3"`). plastimatch must be on PATH.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import pydicom

METRICS = ["D98%", "D95%", "D50%", "D5%", "D2%", "D0.035cc"]
COLUMNS = ["volume_cc", "min_gy", "mean_gy", "max_gy"] + METRICS


# ---------------------------------------------------------------------------
# folder scan

def scan(folder: str) -> dict:
    out = {"ct": [], "rs": None, "rd": None, "rp": None}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            p = os.path.join(root, f)
            try:
                ds = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"])
            except Exception:
                continue
            m = getattr(ds, "Modality", None)
            if m == "CT":
                out["ct"].append(p)
            elif m == "RTSTRUCT":
                out["rs"] = p
            elif m == "RTDOSE":
                out["rd"] = p
            elif m == "RTPLAN":
                out["rp"] = p
    return out


# ---------------------------------------------------------------------------
# metrics from a cumulative curve

def dose_at_volume(doses: np.ndarray, cum: np.ndarray, target: float) -> float:
    """inf{D : V(D) <= target}, linear between curve points. doses increasing,
    cum non-increasing; the curve is taken to reach 0 at its last dose."""
    doses = np.asarray(doses, float)
    cum = np.asarray(cum, float)
    if cum[-1] > 0:
        raise ValueError("curve must end at zero volume")
    if target >= cum[0]:
        return float(doses[0])
    i = int(np.argmax(cum <= target))  # first point at or below the target
    d0, d1, v0, v1 = doses[i - 1], doses[i], cum[i - 1], cum[i]
    if v0 == v1:
        return float(d1)
    return float(d0 + (v0 - target) / (v0 - v1) * (d1 - d0))


def dx_metrics(doses, cum, volume) -> dict:
    out = {}
    for m in METRICS:
        if m.endswith("%"):
            target = float(m[1:-1]) / 100.0 * volume
        else:
            target = float(m[1:-2])
        out[m] = dose_at_volume(doses, cum, target) if volume > 0 else float("nan")
    return out


# ---------------------------------------------------------------------------
# (a) sbrt

def run_sbrt(sbrt: str, folder: str) -> dict:
    cmd = [sbrt, "dvh", folder, "--format", "json", "--metrics", ",".join(METRICS)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rep = json.loads(r.stdout)["report"]
    res = {}
    for s in rep["structures"]:
        row = {"volume_cc": s["volume_cc"], "min_gy": s["min_gy"], "mean_gy": s["mean_gy"],
               "max_gy": s["max_gy"]}
        for m in s["metrics"]:
            row[m["metric"]] = float(m["value"])
        row["outside_dose_grid_percent"] = s.get("outside_dose_grid_percent")
        res[s["name"]] = row
    return {"command": " ".join(cmd), "rows": res}


# ---------------------------------------------------------------------------
# (b) plastimatch

def _pm_spacing(log: str):
    """The ss-image voxel size plastimatch prints after 'checking voxel size...'
    (first line: dose spacing, second: ss spacing)."""
    lines = log.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("checking voxel size"):
            return [float(v) for v in lines[i + 2].split()]
    raise RuntimeError("plastimatch did not print its voxel size")


def _pm_parse(csv_path: str, spacing, bin_width: float) -> dict:
    with open(csv_path) as f:
        header = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",", ndmin=2)
    labels = data[:, 0]
    vox_cc = spacing[0] * spacing[1] * spacing[2] / 1000.0
    res = {}
    for j, name in enumerate(header[1:], start=1):
        cum = data[:, j]  # voxel counts with d >= label - w/2
        n = cum[0]
        if n <= 0:
            res[name] = {"volume_cc": 0.0}
            continue
        diff = cum - np.append(cum[1:], 0.0)
        nz = np.nonzero(diff > 0)[0]
        row = {
            "volume_cc": n * vox_cc,
            "min_gy": float(labels[nz[0]]),
            "max_gy": float(labels[nz[-1]]),
            "mean_gy": float((diff * labels).sum() / n),
        }
        edges = np.append(labels - bin_width / 2.0, labels[-1] + bin_width / 2.0)
        edges[0] = max(edges[0], 0.0)
        curve = np.append(cum, 0.0) * vox_cc
        row.update(dx_metrics(edges, curve, n * vox_cc))
        res[name] = row
    return res


def run_plastimatch_ctgrid(folder, rs, rd, work, bin_width=None, num_bins=None) -> dict:
    ss, ssl = os.path.join(work, "ss.nrrd"), os.path.join(work, "ss.txt")
    conv = ["plastimatch", "convert", "--input", rs, "--referenced-ct", folder,
            "--output-ss-img", ss, "--output-ss-list", ssl]
    if not os.path.exists(ss):
        subprocess.run(conv, capture_output=True, text=True, check=True)
    tag = "default" if bin_width is None else f"w{bin_width}"
    csv = os.path.join(work, f"pm_ct_{tag}.csv")
    dvh = ["plastimatch", "dvh", "--input-ss-img", ss, "--input-ss-list", ssl,
           "--input-dose", rd, "--normalization", "vox", "--output-csv", csv]
    if bin_width is not None:
        dvh += ["--bin-width", str(bin_width), "--num-bins", str(num_bins)]
    r = subprocess.run(dvh, capture_output=True, text=True, check=True)
    w = 0.5 if bin_width is None else bin_width
    return {"command": " ".join(conv) + " && " + " ".join(dvh),
            "spacing_mm": _pm_spacing(r.stdout), "rows": _pm_parse(csv, _pm_spacing(r.stdout), w)}


def run_plastimatch_direct(folder, work, bin_width=None, num_bins=None) -> dict:
    tag = "default" if bin_width is None else f"w{bin_width}"
    csv = os.path.join(work, f"pm_direct_{tag}.csv")
    cmd = ["plastimatch", "dvh", "--input", folder, "--normalization", "vox", "--output-csv", csv]
    if bin_width is not None:
        cmd += ["--bin-width", str(bin_width), "--num-bins", str(num_bins)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    w = 0.5 if bin_width is None else bin_width
    sp = _pm_spacing(r.stdout)
    return {"command": " ".join(cmd), "spacing_mm": sp, "rows": _pm_parse(csv, sp, w)}


# ---------------------------------------------------------------------------
# (c) dicompyler-core

def run_dicompyler(rs, rd) -> dict:
    from dicompylercore import dicomparser, dvhcalc
    rois = dicomparser.DicomParser(rs).GetStructures()
    res = {}
    for num, s in rois.items():
        if s.get("type") == "MARKER":
            continue
        d = dvhcalc.get_dvh(rs, rd, num)
        if d.volume <= 0:
            res[s["name"]] = {"volume_cc": 0.0, "notes": d.notes}
            continue
        edges = np.asarray(d.bins, float)  # 1 cGy edges; counts[i] = V(d >= edges[i])
        curve = np.append(np.asarray(d.counts, float), 0.0)
        row = {"volume_cc": float(d.volume), "min_gy": float(d.min), "mean_gy": float(d.mean),
               "max_gy": float(d.max), "notes": d.notes}
        row.update(dx_metrics(edges[: len(curve)], curve, float(d.volume)))
        row["native"] = {
            "D98%": float(d.statistic("D98").value), "D95%": float(d.statistic("D95").value),
            "D50%": float(d.statistic("D50").value), "D5%": float(d.statistic("D5").value),
            "D2%": float(d.statistic("D2").value),
            "D0.035cc": float(d.dose_constraint(0.035, "cm3").value)}
        res[s["name"]] = row
    return {"command": "dicompylercore.dvhcalc.get_dvh(RS, RD, roi_number)  # defaults",
            "rows": res}


# ---------------------------------------------------------------------------
# TPS embedded DVHs

def read_tps(rs, rd) -> dict:
    ds = pydicom.dcmread(rd)
    if "DVHSequence" not in ds:
        return {}
    names = {int(r.ROINumber): r.ROIName for r in pydicom.dcmread(rs).StructureSetROISequence}
    res = {}
    for item in ds.DVHSequence:
        if item.DVHType != "CUMULATIVE" or item.DoseUnits != "GY":
            continue
        if getattr(item, "DVHVolumeUnits", "CM3") != "CM3":
            continue
        roi = int(item.DVHReferencedROISequence[0].ReferencedROINumber)
        scale = float(getattr(item, "DVHDoseScaling", 1.0))
        data = np.asarray([float(v) for v in item.DVHData])
        widths, vols = data[0::2] * scale, data[1::2]
        edges = np.concatenate([[0.0], np.cumsum(widths)])
        diff = vols - np.append(vols[1:], 0.0)
        nz = np.nonzero(diff > 1e-12)[0]
        centres = 0.5 * (edges[:-1] + edges[1:])
        row = {"volume_cc": float(vols[0]), "min_gy": float(edges[nz[0] + 1]),
               "max_gy": float(edges[nz[-1] + 1]),
               "mean_gy": float((diff * centres).sum() / vols[0])}
        row.update(dx_metrics(edges, np.append(vols, 0.0), float(vols[0])))
        res[names.get(roi, str(roi))] = row
    return {"command": "RT Dose DVH Sequence (DVH Data)", "rows": res}


# ---------------------------------------------------------------------------
# report

def fmt(v, col):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.3f}" if col == "volume_cc" else f"{v:.2f}"


def markdown(results: dict, order: list, only=None) -> str:
    head = ["tool", "volume cc", "Dmin", "Dmean", "Dmax"] + METRICS
    out = []
    names = [n for n in results["sbrt"]["rows"] if not only or n in only]
    for name in names:
        out.append(f"#### {name}\n")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for key, label in order:
            r = results.get(key, {}).get("rows", {}).get(name)
            if r is None:
                continue
            out.append("| " + " | ".join([label] + [fmt(r.get(c), c) for c in COLUMNS]) + " |")
        out.append("")
    return "\n".join(out)


def deviations(results: dict, ref_key: str, order: list) -> str:
    """Signed differences from the reference: volume in %, doses in Gy."""
    ref = results[ref_key]["rows"]
    cols = ["mean_gy"] + METRICS
    head = ["structure", "tool", "ΔV %", "ΔDmean"] + ["Δ" + m for m in METRICS]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r0 in ref.items():
        for key, label in order:
            if key.startswith("reference"):
                continue
            r = results.get(key, {}).get("rows", {}).get(name)
            if not r or not r.get("volume_cc"):
                continue
            dv = 100.0 * (r["volume_cc"] / r0["volume_cc"] - 1.0)
            cells = [name, label, f"{dv:+.2f}"] + [f"{r[c] - r0[c]:+.2f}" for c in cols]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--sbrt", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                 ".build-lead", "release", "sbrt"))
    ap.add_argument("--fine-bin", type=float, default=0.01, help="plastimatch --bin-width for the fine run (Gy)")
    ap.add_argument("--reference", action="append", default=[],
                    help="JSON from fine_reference.py to add as a row (repeatable)")
    ap.add_argument("--json", help="write every number (and the commands) to this file")
    ap.add_argument("--structures", help="comma-separated structure names to print")
    ap.add_argument("--keep", help="keep plastimatch's files in this folder")
    a = ap.parse_args(argv)

    f = scan(a.folder)
    if not (f["rs"] and f["rd"] and f["ct"]):
        print(f"{a.folder}: need a CT series, an RT Structure Set and an RT Dose", file=sys.stderr)
        return 2
    ds = pydicom.dcmread(f["rd"])
    dmax = float(ds.pixel_array.max()) * float(ds.DoseGridScaling)
    nbins = int(math.ceil(dmax / a.fine_bin)) + 2
    work = a.keep or tempfile.mkdtemp(prefix="sbrt-peers-")
    os.makedirs(work, exist_ok=True)

    res, timing = {}, {}

    def timed(key, fn, *args, **kw):
        t = time.perf_counter()
        res[key] = fn(*args, **kw)
        timing[key] = time.perf_counter() - t

    timed("sbrt", run_sbrt, os.path.abspath(a.sbrt), a.folder)
    timed("pm_ct", run_plastimatch_ctgrid, a.folder, f["rs"], f["rd"], work)
    timed("pm_ct_fine", run_plastimatch_ctgrid, a.folder, f["rs"], f["rd"], work, a.fine_bin, nbins)
    timed("pm_direct", run_plastimatch_direct, a.folder, work)
    timed("pm_direct_fine", run_plastimatch_direct, a.folder, work, a.fine_bin, nbins)
    timed("dicompyler", run_dicompyler, f["rs"], f["rd"])
    res["tps"] = read_tps(f["rs"], f["rd"])
    refs = []
    for i, path in enumerate(a.reference):
        with open(path) as fh:
            ref = json.load(fh)
        key = f"reference{i}"
        res[key] = {"command": ref.get("command", "fine_reference.py"), "rows": ref["rows"]}
        refs.append((key, f"fine reference, {ref.get('step_mm', '?')} mm"))

    sp_ct = res["pm_ct"]["spacing_mm"]
    sp_d = res["pm_direct"]["spacing_mm"]
    order = refs + [
        ("sbrt", "sbrt"),
        ("pm_ct", f"plastimatch CT grid {sp_ct[0]:.2f}×{sp_ct[1]:.2f}×{sp_ct[2]:.2f} mm, 0.5 Gy bins"),
        ("pm_ct_fine", f"plastimatch CT grid, {a.fine_bin} Gy bins"),
        ("pm_direct", f"plastimatch --input DIR ({sp_d[0]:.3f}×{sp_d[1]:.3f}×{sp_d[2]:.2f} mm), 0.5 Gy bins"),
        ("pm_direct_fine", f"plastimatch --input DIR, {a.fine_bin} Gy bins"),
        ("dicompyler", "dicompyler-core"),
        ("tps", "TPS (embedded)"),
    ]
    only = set(a.structures.split(",")) if a.structures else None
    print(markdown(res, order, only))
    if refs:
        print(f"#### Differences from the {refs[0][1]}\n")
        print(deviations(res, refs[0][0], order))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"folder": a.folder, "results": res, "seconds": timing}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
