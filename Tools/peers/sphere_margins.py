#!/usr/bin/env python3
"""Independent check of `sbrt expand` margins on a contoured sphere.

Builds four synthetic studies (CT series + RT Structure Set) with pydicom and numpy:

  grid "0.98x0.98/2"  PixelSpacing 0.98 x 0.98 mm, 2 mm slices
  grid "1x1/3"        PixelSpacing 1 x 1 mm,       3 mm slices
  placement "on"      the sphere centre lies on a slice      (z = c + k dz)
  placement "half"    the sphere centre lies between slices  (z = c + (k + 1/2) dz)

Each RT Structure Set holds one ROI "Sphere" (radius 10 mm): on every CT slice it
crosses, a closed polygon with ~0.2 mm vertex spacing, vertices exactly on the circle
of radius sqrt(100 - dz^2) (slices where that radius is < 0.1 mm are skipped).

For every study it runs, with --end-cap interpolated and --end-cap prism,
    sbrt expand DIR --from Sphere --margin 5  --name G5 --out OUT.dcm
    sbrt expand DIR --from Sphere --margin -3 --name S3 --out OUT.dcm
and, independently of sbrt, from the written file (read with pydicom, the new ROI is
the appended one):
  (a) prism volume  = sum over the new ROI's planes of shoelace area x slice spacing
      (even-odd: a contour inside an odd number of others on its plane is a hole)
  (b) the same for the exact sphere of radius R = 15 / 7 mm, over every CT slice it
      crosses (area pi (R^2 - dz^2))
  (c) worst and mean |sqrt(x^2 + y^2) - sqrt(R^2 - dz^2)| over all written vertices
      (centre subtracted)
  (d) plastimatch voxel-count volume: `plastimatch convert --input OUT.dcm
      --referenced-ct CTDIR --output-prefix P --prefix-format nrrd`, the new ROI's
      mask, count x voxel volume (voxel centres inside the contours, CT grid).
      plastimatch ORs the contours of a plane by default (no --xor-contours), so it
      ignores holes.

Prints a markdown table. Exits 1 if any sbrt (or plastimatch) run fails.

Usage: sphere_margins.py SBRT_BINARY [--work DIR] [--keep]
(see sphere_margins.sh, which provides the venv).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
RT_STRUCT_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
DETACHED_STUDY_MGMT = "1.2.840.10008.3.1.2.3.1"

R_SOURCE = 10.0
VERTEX_SPACING = 0.2
# Sphere centre: deliberately not on a pixel centre or a round number.
CX, CY, CZ = 3.17, -6.43, 12.6
ROWS = COLS = 64
BODY_RADIUS = 29.0  # water (0 HU) inside, air (-1000 HU) outside
Z_HALF_EXTENT = 24.0  # slices cover at least CZ +- this (R 15 + a few slices)

GRIDS = [  # label, pixel spacing (mm), slice spacing (mm)
    ("0.98x0.98/2", 0.98, 2.0),
    ("1x1/3", 1.0, 3.0),
]
PLACEMENTS = [("on", 0.0), ("half", 0.5)]
MARGINS = [(5.0, "G5"), (-3.0, "S3")]
END_CAPS = ["interpolated", "prism"]


def uid(key: str) -> str:
    h = hashlib.sha256(("sbrt-sphere-margins/" + key).encode()).hexdigest()
    return "2.25." + str(int(h[:30], 16))


def ds(v: float, nd: int = 4) -> str:
    s = f"{v:.{nd}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def item(**kw) -> Dataset:
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def save(d: Dataset, path: str):
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = d.SOPClassUID
    meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "2.25.8427310090000000000000000000002"
    meta.ImplementationVersionName = "SBRT_SPHERE_1"
    d.file_meta = meta
    d.preamble = b"\x00" * 128
    d.save_as(path, enforce_file_format=True)


def common(d: Dataset, key: str, modality: str, sop_class: str, sop: str, series: str, number: int):
    d.SpecificCharacterSet = "ISO_IR 192"
    d.SOPClassUID = sop_class
    d.SOPInstanceUID = sop
    d.StudyDate = "20240311"
    d.StudyTime = "091500"
    d.AccessionNumber = ""
    d.Modality = modality
    d.Manufacturer = "sphere_margins.py"
    d.ReferringPhysicianName = ""
    d.PatientName = "Sphere^Phantom"
    d.PatientID = "SPHERE-" + key.replace("/", "-")
    d.PatientBirthDate = ""
    d.PatientSex = "O"
    d.StudyInstanceUID = uid(key + "/study")
    d.SeriesInstanceUID = series
    d.StudyID = "1"
    d.SeriesNumber = number
    d.StudyDescription = "Sphere margins " + key


def circle(cx: float, cy: float, r: float, spacing: float) -> np.ndarray:
    """CCW polygon with vertices exactly on the circle, ~spacing mm apart."""
    n = max(12, int(round(2 * math.pi * r / spacing)))
    t = np.arange(n) * 2 * math.pi / n
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)


def make_study(root: str, key: str, pix: float, dz: float, frac: float) -> dict:
    """Write CT (root/ct/) + RTSTRUCT (root/RS.dcm); return the geometry."""
    ctdir = os.path.join(root, "ct")
    os.makedirs(ctdir, exist_ok=True)
    kmax = int(math.ceil(Z_HALF_EXTENT / dz))
    ks = list(range(-kmax, kmax + 1)) if frac == 0 else list(range(-kmax, kmax))
    zs = [CZ + (k + frac) * dz for k in ks]
    # in-plane origin: pixel (0,0) so that the centre is inside, off a pixel centre
    x0 = CX - (COLS / 2 - 0.37) * pix
    y0 = CY - (ROWS / 2 - 0.21) * pix
    for_uid = uid(key + "/for")
    series = uid(key + "/ct/series")
    xs = x0 + np.arange(COLS) * pix
    ys = y0 + np.arange(ROWS) * pix
    X, Y = np.meshgrid(xs, ys)
    hu = np.where((X - CX) ** 2 + (Y - CY) ** 2 <= BODY_RADIUS ** 2, 0, -1000).astype(np.int16)
    slice_uids = []
    zs_written = []
    for n, z in enumerate(zs):
        sop = uid(f"{key}/ct/{n}")
        slice_uids.append(sop)
        d = Dataset()
        common(d, key, "CT", CT_IMAGE_STORAGE, sop, series, 2)
        d.FrameOfReferenceUID = for_uid
        d.PositionReferenceIndicator = ""
        d.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        d.SeriesDescription = "CT"
        d.SliceThickness = ds(dz)
        d.KVP = "120"
        d.PatientPosition = "HFS"
        d.InstanceNumber = n + 1
        ipp = [ds(x0, 6), ds(y0, 6), ds(z, 6)]
        zs_written.append(float(ipp[2]))
        d.ImagePositionPatient = ipp
        d.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        d.SliceLocation = ipp[2]
        d.SamplesPerPixel = 1
        d.PhotometricInterpretation = "MONOCHROME2"
        d.Rows = ROWS
        d.Columns = COLS
        d.PixelSpacing = [ds(pix), ds(pix)]
        d.BitsAllocated = 16
        d.BitsStored = 16
        d.HighBit = 15
        d.PixelRepresentation = 1
        d.RescaleIntercept = "0"
        d.RescaleSlope = "1"
        d.RescaleType = "HU"
        d.PixelData = hu.astype("<i2").tobytes()
        save(d, os.path.join(ctdir, f"CT.{n:03d}.dcm"))

    # RTSTRUCT
    d = Dataset()
    common(d, key, "RTSTRUCT", RT_STRUCT_STORAGE, uid(key + "/rtstruct"), uid(key + "/rtstruct/series"), 3)
    d.InstanceNumber = 1
    d.StructureSetLabel = "SPHERE"
    d.StructureSetDate = "20240312"
    d.StructureSetTime = "143000"
    d.ReferencedFrameOfReferenceSequence = Sequence([item(
        FrameOfReferenceUID=for_uid,
        RTReferencedStudySequence=Sequence([item(
            ReferencedSOPClassUID=DETACHED_STUDY_MGMT,
            ReferencedSOPInstanceUID=uid(key + "/study"),
            RTReferencedSeriesSequence=Sequence([item(
                SeriesInstanceUID=series,
                ContourImageSequence=Sequence([
                    item(ReferencedSOPClassUID=CT_IMAGE_STORAGE, ReferencedSOPInstanceUID=s)
                    for s in slice_uids]),
            )]),
        )]),
    )])
    d.StructureSetROISequence = Sequence([item(
        ROINumber=1, ReferencedFrameOfReferenceUID=for_uid, ROIName="Sphere",
        ROIGenerationAlgorithm="MANUAL")])
    contours = []
    src_planes = 0
    for z, sop in zip(zs_written, slice_uids):
        r2 = R_SOURCE ** 2 - (z - CZ) ** 2
        if r2 <= 0 or math.sqrt(r2) < 0.1:
            continue
        poly = circle(CX, CY, math.sqrt(r2), VERTEX_SPACING)
        pts = np.hstack([poly, np.full((len(poly), 1), z)])
        src_planes += 1
        contours.append(item(
            ContourImageSequence=Sequence([item(ReferencedSOPClassUID=CT_IMAGE_STORAGE,
                                                ReferencedSOPInstanceUID=sop)]),
            ContourGeometricType="CLOSED_PLANAR",
            NumberOfContourPoints=len(pts),
            ContourNumber=len(contours) + 1,
            ContourData=[ds(v, 4) for v in pts.reshape(-1)],
        ))
    d.ROIContourSequence = Sequence([item(ROIDisplayColor=["255", "0", "0"],
                                          ContourSequence=Sequence(contours),
                                          ReferencedROINumber=1)])
    d.RTROIObservationsSequence = Sequence([item(ObservationNumber=1, ReferencedROINumber=1,
                                                 RTROIInterpretedType="GTV", ROIInterpreter="")])
    save(d, os.path.join(root, "RS.dcm"))
    return {"ctdir": ctdir, "zs": np.array(zs_written), "dz": dz, "pix": pix, "src_planes": src_planes}


# ---------------------------------------------------------------- analysis

def shoelace(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def read_new_roi(path: str, name: str):
    rs = pydicom.dcmread(path)
    num = next(int(r.ROINumber) for r in rs.StructureSetROISequence if r.ROIName == name)
    last = rs.StructureSetROISequence[-1]
    assert last.ROIName == name, f"{name} is not the appended ROI"
    rc = next(r for r in rs.ROIContourSequence if int(r.ReferencedROINumber) == num)
    out = []
    for c in getattr(rc, "ContourSequence", []):
        pts = np.array([float(v) for v in c.ContourData]).reshape(-1, 3)
        out.append(pts)
    return out


def inside(px: float, py: float, poly: np.ndarray) -> bool:
    """Even-odd (crossing number) point-in-polygon."""
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    cond = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = (x1 - x0) * (py - y0) / (y1 - y0) + x0
    return bool(np.count_nonzero(cond & (px < xint)) % 2)


def analyse(contours, R: float, zs: np.ndarray, dz: float) -> dict:
    """Prism volume (even-odd: a contour nested in an odd number of others on its
    plane is a hole), exact-sphere prism volume, vertex deviations."""
    by_plane: dict[float, list] = {}
    for pts in contours:
        by_plane.setdefault(float(np.round(pts[0, 2], 4)), []).append(pts)
    area = 0.0
    holes = 0
    dev_all, dev_outer = [], []
    worst = (0.0, None)
    for z, cs in by_plane.items():
        rexp = math.sqrt(max(R * R - (z - CZ) ** 2, 0.0))
        for c in cs:
            depth = sum(inside(c[0, 0], c[0, 1], o[:, :2]) for o in cs if o is not c)
            sign = -1 if depth % 2 else 1
            holes += depth % 2
            area += sign * abs(shoelace(c[:, :2]))
            dev = np.abs(np.hypot(c[:, 0] - CX, c[:, 1] - CY) - rexp)
            dev_all.append(dev)
            if sign > 0:
                dev_outer.append(dev)
            i = int(np.argmax(dev))
            if dev[i] > worst[0]:
                worst = (float(dev[i]), z - CZ)
    dev_all = np.concatenate(dev_all) if dev_all else np.zeros(0)
    dev_outer = np.concatenate(dev_outer) if dev_outer else np.zeros(0)
    exact_planes = [z for z in zs if R * R - (z - CZ) ** 2 > 0]
    exact = sum(math.pi * (R * R - (z - CZ) ** 2) for z in exact_planes) * dz / 1000.0
    return {
        "prism_cc": area * dz / 1000.0, "exact_prism_cc": exact,
        "planes": len(by_plane), "exact_planes": len(exact_planes),
        "contours": len(contours), "holes": holes,
        "worst_mm": worst[0], "worst_dz": worst[1],
        "mean_mm": float(dev_all.mean()) if len(dev_all) else float("nan"),
        "worst_outer_mm": float(dev_outer.max()) if len(dev_outer) else float("nan"),
    }


def read_nrrd(path: str):
    with open(path, "rb") as f:
        raw = f.read()
    hdr_end = raw.index(b"\n\n")
    hdr = raw[:hdr_end].decode("latin-1").splitlines()
    data = raw[hdr_end + 2:]
    fields = {}
    for line in hdr[1:]:
        if line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        fields[k.strip().lower()] = v.strip().lstrip("=").strip()
    if "data file" in fields:
        raise RuntimeError(f"{path}: detached NRRD not handled")
    enc = fields.get("encoding", "raw")
    if enc in ("gzip", "gz"):
        data = gzip.decompress(data)
    elif enc != "raw":
        raise RuntimeError(f"{path}: NRRD encoding {enc} not handled")
    types = {"unsigned char": np.uint8, "uchar": np.uint8, "uint8": np.uint8, "uint8_t": np.uint8,
             "unsigned short": np.uint16, "ushort": np.uint16, "uint16": np.uint16,
             "short": np.int16, "int16": np.int16, "unsigned int": np.uint32, "uint": np.uint32,
             "uint32": np.uint32, "int": np.int32, "int32": np.int32, "float": np.float32}
    dt = np.dtype(types[fields["type"]])
    if fields.get("endian", "little") == "big":
        dt = dt.newbyteorder(">")
    sizes = [int(v) for v in fields["sizes"].split()]
    arr = np.frombuffer(data, dtype=dt, count=int(np.prod(sizes)))
    if "space directions" in fields:
        vecs = re.findall(r"\(([^)]*)\)", fields["space directions"])
        sp = [float(np.linalg.norm([float(t) for t in v.split(",")])) for v in vecs]
    else:
        sp = [float(v) for v in fields["spacings"].split()]
    return arr, sizes, sp


def plastimatch_volume(out_dcm: str, ctdir: str, name: str, work: str) -> dict:
    prefix = os.path.join(work, "pm_" + os.path.basename(out_dcm).replace(".dcm", ""))
    cmd = ["plastimatch", "convert", "--input", out_dcm, "--referenced-ct", ctdir,
           "--output-prefix", prefix, "--prefix-format", "nrrd"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("plastimatch failed: " + " ".join(cmd) + "\n" + r.stdout + r.stderr)
    path = os.path.join(prefix, name + ".nrrd")
    arr, sizes, sp = read_nrrd(path)
    return {"cc": int(np.count_nonzero(arr)) * sp[0] * sp[1] * sp[2] / 1000.0,
            "sizes": sizes, "spacing": sp}


LINE = re.compile(r"\(([a-z]+) source\): ([-0-9.]+) cc interpolated between its contours, ([-0-9.]+) cc as a prism stack")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sbrt")
    ap.add_argument("--work", help="scratch directory (default: a new one under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    a = ap.parse_args()
    sbrt = os.path.abspath(a.sbrt)
    work = a.work or tempfile.mkdtemp(prefix="sbrt-sphere.", dir="/tmp")
    os.makedirs(work, exist_ok=True)
    failures = 0
    rows = []
    notes = []
    pm_version = subprocess.run(["plastimatch", "--version"], capture_output=True, text=True).stdout.strip()
    for glabel, pix, dz in GRIDS:
        for plabel, frac in PLACEMENTS:
            key = f"{glabel.replace('/', '_')}_{plabel}"
            root = os.path.join(work, key)
            shutil.rmtree(root, ignore_errors=True)
            geo = make_study(root, key, pix, dz, frac)
            for margin, name in MARGINS:
                R = R_SOURCE + margin
                for cap in END_CAPS:
                    out = os.path.join(work, f"{key}_{name}_{cap}.dcm")
                    cmd = [sbrt, "expand", root, "--from", "Sphere", "--margin", f"{margin:g}",
                           "--name", name, "--end-cap", cap, "--out", out]
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    tag = f"{glabel} {plabel} {margin:+g} {cap}"
                    if r.returncode != 0:
                        failures += 1
                        print(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}", file=sys.stderr)
                        continue
                    text = r.stdout + r.stderr
                    m = LINE.search(r.stdout)
                    if not m:
                        failures += 1
                        print(f"FAILED (no volume line): {' '.join(cmd)}\n{text}", file=sys.stderr)
                        continue
                    other = [l for l in text.splitlines() if not l.startswith(name + " = ") and not l.startswith("wrote ")]
                    if other:
                        notes.append(f"{tag}: " + " | ".join(other))
                    s_int, s_prism = float(m.group(2)), float(m.group(3))
                    res = analyse(read_new_roi(out, name), R, geo["zs"], dz)
                    try:
                        pm = plastimatch_volume(out, geo["ctdir"], name, work)
                    except Exception as e:  # noqa: BLE001
                        failures += 1
                        print(f"FAILED plastimatch for {tag}: {e}", file=sys.stderr)
                        pm = {"cc": float("nan"), "spacing": []}
                    analytic = 4.0 / 3.0 * math.pi * R ** 3 / 1000.0
                    if res["planes"] != res["exact_planes"]:
                        notes.append(f"{tag}: {res['planes']} planes written, exact sphere crosses {res['exact_planes']}")
                    if abs(s_prism / res["prism_cc"] - 1) > 0.001:
                        notes.append(f"{tag}: sbrt prism {s_prism:.3f} vs shoelace prism {res['prism_cc']:.3f} cc")
                    if res["contours"] != res["planes"]:
                        notes.append(f"{tag}: {res['contours']} contours on {res['planes']} planes, "
                                     f"{res['holes']} of them holes (even-odd)")
                    rows.append([
                        glabel, plabel, f"{margin:+g}", cap,
                        f"{s_int:.3f}", f"{s_prism:.3f}",
                        f"{res['prism_cc']:.3f}", f"{res['exact_prism_cc']:.3f}",
                        f"{(res['prism_cc'] / res['exact_prism_cc'] - 1) * 100:+.2f}",
                        f"{analytic:.3f}", f"{(s_int / analytic - 1) * 100:+.2f}",
                        f"{res['worst_mm']:.3f}", f"{res['worst_dz']:+.1f}" if res["worst_dz"] is not None else "",
                        f"{res['mean_mm']:.3f}", f"{res['worst_outer_mm']:.3f}",
                        f"{res['planes']}/{res['exact_planes']}", str(res["holes"]),
                        f"{pm['cc']:.3f}",
                    ])
    hdr = ["grid (px mm/slice mm)", "centre", "margin mm", "source", "sbrt interp cc", "sbrt prism cc",
           "(a) shoelace prism cc", "(b) exact-sphere prism cc", "(a)/(b)−1 %", "4/3πR³ cc",
           "sbrt interp/analytic−1 %", "worst vertex dev mm", "at z−c mm", "mean vertex dev mm",
           "worst dev, outer contours only, mm", "planes written/exact", "holes", "plastimatch mask cc"]
    print(f"Sphere r = {R_SOURCE:g} mm at ({CX}, {CY}, {CZ}), contoured with {VERTEX_SPACING} mm vertex spacing; "
          f"{COLS}x{ROWS} CT. sbrt: {sbrt}. {pm_version}. Scratch: {work}\n")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if notes:
        print("\nNotes:")
        for n in notes:
            print("- " + n)
    if failures:
        print(f"\n{failures} run(s) failed", file=sys.stderr)
    if not a.keep and not a.work and not failures:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
