#!/usr/bin/env python3
"""Writes small hand-built DICOM seeds (standard library only) into the given folder.

They cover the encodings the parser distinguishes, so fuzzing starts from every
branch even before the pydicom fixtures exist: explicit VR LE Part 10 with nested
undefined-length sequences, implicit VR LE raw data set, explicit VR big endian,
deflated explicit VR LE, UN sequence of undefined length, encapsulated pixel data.
"""
import os
import struct
import sys
import zlib


def el_ex(group, elem, vr, value, big=False):
    e = ">" if big else "<"
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB", b"UN") else b" "
    if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR"):
        return struct.pack(e + "HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack(e + "HH2sH", group, elem, vr, len(value)) + value


def el_im(group, elem, value):
    if len(value) % 2:
        value += b" "
    return struct.pack("<HHI", group, elem, len(value)) + value


def seq_undef_ex(group, elem, items, big=False, vr=b"SQ"):
    e = ">" if big else "<"
    out = struct.pack(e + "HH2sHI", group, elem, vr, 0, 0xFFFFFFFF)
    for it in items:
        out += struct.pack(e + "HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + it
        out += struct.pack(e + "HHI", 0xFFFE, 0xE00D, 0)
    return out + struct.pack(e + "HHI", 0xFFFE, 0xE0DD, 0)


def seq_undef_im(group, elem, items):
    out = struct.pack("<HHI", group, elem, 0xFFFFFFFF)
    for it in items:
        out += struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + it
        out += struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    return out + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def part10(ts, body):
    meta = el_ex(0x0002, 0x0001, b"OB", b"\0\1")
    meta += el_ex(0x0002, 0x0002, b"UI", b"1.2.840.10008.5.1.4.1.1.481.3")
    meta += el_ex(0x0002, 0x0003, b"UI", b"1.2.3.4.5")
    meta += el_ex(0x0002, 0x0010, b"UI", ts)
    head = el_ex(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta)))
    return b"\0" * 128 + b"DICM" + head + meta + body


def common_ex(big=False):
    b = el_ex(0x0008, 0x0005, b"CS", b"ISO_IR 100", big)
    b += el_ex(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.481.3", big)
    b += el_ex(0x0008, 0x0018, b"UI", b"1.2.3.4.5", big)
    b += el_ex(0x0008, 0x0060, b"CS", b"RTSTRUCT", big)
    b += el_ex(0x0010, 0x0010, b"PN", b"M\xfcller^Hans", big)
    b += el_ex(0x0028, 0x0010, b"US", struct.pack(">H" if big else "<H", 512), big)
    b += el_ex(0x3004, 0x000E, b"DS", b"1.5e-3", big)
    inner = el_ex(0x3006, 0x0042, b"CS", b"CLOSED_PLANAR", big)
    inner += el_ex(0x3006, 0x0046, b"IS", b"3", big)
    inner += el_ex(0x3006, 0x0050, b"DS", b"0\\0\\0\\1.5\\0\\0\\0\\2.5\\-1", big)
    contour = seq_undef_ex(0x3006, 0x0040, [inner], big)
    roi = el_ex(0x3006, 0x002A, b"IS", b"255\\0\\0", big) + contour
    roi += el_ex(0x3006, 0x0084, b"IS", b"1", big)
    b += seq_undef_ex(0x3006, 0x0039, [roi, b""], big)
    return b


def main(folder):
    os.makedirs(folder, exist_ok=True)
    seeds = {}
    seeds["explicit_le.dcm"] = part10(b"1.2.840.10008.1.2.1", common_ex())
    seeds["explicit_be.dcm"] = part10(b"1.2.840.10008.1.2.2", common_ex(big=True))
    body = common_ex()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    seeds["deflated.dcm"] = part10(b"1.2.840.10008.1.2.1.99", c.compress(body) + c.flush())
    imp = el_im(0x0008, 0x0016, b"1.2.840.10008.5.1.4.1.1.2")
    imp += el_im(0x0008, 0x0018, b"1.2.3.4.6")
    imp += seq_undef_im(0x0008, 0x1140, [el_im(0x0008, 0x1150, b"1.2.3") + el_im(0x0008, 0x1155, b"1.2.3.4")])
    imp += el_im(0x0009, 0x0010, b"ACME 1.0")
    item = el_im(0x0009, 0x1001, b"x")
    imp += el_im(0x0009, 0x1002, struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item)
    imp += el_im(0x0028, 0x0010, struct.pack("<H", 2))
    imp += el_im(0x7FE0, 0x0010, b"\1\0\2\0\3\0\4\0")
    seeds["implicit_raw.dcm"] = imp
    seeds["implicit_part10.dcm"] = part10(b"1.2.840.10008.1.2", imp)
    un = el_ex(0x0008, 0x0016, b"UI", b"1.2.3") + el_ex(0x0008, 0x0018, b"UI", b"1.2.3.4")
    un += seq_undef_ex(0x0009, 0x1010, [el_im(0x0010, 0x0020, b"ID42")], vr=b"UN")
    seeds["un_sequence.dcm"] = part10(b"1.2.840.10008.1.2.1", un)
    enc = el_ex(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.2") + el_ex(0x0008, 0x0018, b"UI", b"1.2.3.4.7")
    enc += struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
    enc += struct.pack("<HHI", 0xFFFE, 0xE000, 4) + struct.pack("<I", 0)
    enc += struct.pack("<HHI", 0xFFFE, 0xE000, 6) + b"\xff\xd8\xff\xe0\0\0"
    enc += struct.pack("<HHI", 0xFFFE, 0xE000, 4) + b"\xff\xd9\0\0"
    enc += struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    seeds["jpeg.dcm"] = part10(b"1.2.840.10008.1.2.4.50", enc)
    for name, data in seeds.items():
        with open(os.path.join(folder, "hand_" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
