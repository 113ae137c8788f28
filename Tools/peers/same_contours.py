#!/usr/bin/env python3
"""Whether two RT Structure Sets hold the same contours, read with pydicom.

    same_contours.py A.dcm B.dcm

Compares, ROI by ROI (matched by name), every contour's Contour Data exactly (the
decimal strings as pydicom reads them). Prints IDENTICAL or DIFFERENT with the number of
contours per ROI; exits 0 when identical, 1 when not, 2 on a bad file. Used to check that
a speed change left `sbrt expand`'s output unchanged (docs/performance.md).
"""
import sys

import pydicom


def contours(path):
    ds = pydicom.dcmread(path)
    names = {r.ROINumber: r.ROIName for r in ds.StructureSetROISequence}
    out = {}
    for rc in ds.ROIContourSequence:
        out[names[rc.ReferencedROINumber]] = [tuple(c.ContourData) for c in getattr(rc, "ContourSequence", [])]
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: same_contours.py A.dcm B.dcm")
    try:
        a, b = contours(sys.argv[1]), contours(sys.argv[2])
    except Exception as e:  # a file that is not an RT Structure Set
        print(f"cannot read: {e}", file=sys.stderr)
        sys.exit(2)
    same = a == b
    print("IDENTICAL" if same else "DIFFERENT", {k: len(v) for k, v in a.items()})
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
