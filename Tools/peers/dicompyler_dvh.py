#!/usr/bin/env python3
"""DVHs of every ROI of a folder with dicompyler-core's defaults, as a user would
script it (the timing driver of Tools/peers/time_peers.sh).

    Tools/peers/dicompyler_dvh.py DIR

Prints one line per ROI: name, volume (cc), min / mean / max (Gy), D95 (its own
nearest-bin `statistic`). dicompyler-core 0.5.6 needs pydicom < 3.
"""
import os
import sys

import pydicom
from dicompylercore import dicomparser, dvhcalc


def find(folder):
    rs = rd = None
    for root, dirs, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            try:
                m = pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"]).Modality
            except Exception:
                continue
            if m == "RTSTRUCT":
                rs = p
            elif m == "RTDOSE":
                rd = p
    return rs, rd


def main():
    rs, rd = find(sys.argv[1])
    for num, s in dicomparser.DicomParser(rs).GetStructures().items():
        d = dvhcalc.get_dvh(rs, rd, num)
        print(f"{s['name']}\t{d.volume:.3f}\t{d.min:.2f}\t{d.mean:.2f}\t{d.max:.2f}\t{d.statistic('D95').value:.2f}")


if __name__ == "__main__":
    main()
