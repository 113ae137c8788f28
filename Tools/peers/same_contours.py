#!/usr/bin/env python3
"""Whether two RT Structure Sets hold the same contours, read with pydicom.

    $PY Tools/peers/same_contours.py A.dcm B.dcm

(`PY` a Python with pydicom, such as the peers' venv: docs/validation.md.) Compares,
ROI by ROI (matched by name), every contour's Contour Data as the decimal strings
written in the file (so "1.5" and "1.50" differ). Prints IDENTICAL or DIFFERENT with
the number of contours per ROI in each file and the ROIs that differ; exits 0 when
identical, 1 when not, 2 on bad usage, a file pydicom cannot read as an RT Structure
Set, or an ROI name used twice in one file. Used to check that a speed change left
`sbrt expand`'s output unchanged (docs/performance.md).
"""
import sys


def contours(path):
    import pydicom

    ds = pydicom.dcmread(path)
    names = {r.ROINumber: r.ROIName for r in ds.StructureSetROISequence}
    if len(set(names.values())) != len(names):
        raise ValueError(f"{path}: an ROI name is used twice")
    out = {}
    for rc in ds.ROIContourSequence:
        out[names[rc.ReferencedROINumber]] = [
            tuple(str(v) for v in c.ContourData) for c in getattr(rc, "ContourSequence", [])
        ]
    return out


def main():
    if len(sys.argv) != 3:
        print("usage: same_contours.py A.dcm B.dcm", file=sys.stderr)
        sys.exit(2)
    try:
        a, b = contours(sys.argv[1]), contours(sys.argv[2])
    except Exception as e:  # no pydicom, or not an RT Structure Set
        print(f"cannot compare: {e}", file=sys.stderr)
        sys.exit(2)
    differing = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    counts = {k: (len(a.get(k, [])), len(b.get(k, []))) for k in sorted(set(a) | set(b))}
    print("DIFFERENT" if differing else "IDENTICAL", counts, ("differing: " + ", ".join(differing)) if differing else "")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
