#!/usr/bin/env python3
"""Check PNG files with nothing but the Python standard library (zlib, no PIL).

For each file: verify the signature and the CRC of every chunk, the chunk order
(IHDR first, PLTE before IDAT, IDAT consecutive, IEND last, nothing after it), the
IHDR fields, inflate the IDAT stream (which must end exactly, with nothing after it)
and undo the row filters of every row (Adam7 passes included). Then print the size,
colour type, bit depth, the text chunks (tEXt, zTXt, iTXt) and a SHA-256 of the
unfiltered scanlines in file order (pass by pass for Adam7), so that two
non-interlaced encodings of the same pixels can be compared whatever their filters
and compression.

If `pngcheck` is installed, it is run on each file as a second opinion (skip with
--no-pngcheck); its verdict counts.

Usage:
    Tools/check_png.py FILE.png [FILE.png ...] [--require-text KEY=VALUE ...]

Exit status: 0 if every file is valid (and carries every required text), 1 if any
is not, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import struct
import subprocess
import sys
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Allowed bit depths and samples per pixel for each colour type (PNG spec 11.2.2).
COLOUR_TYPES = {
    0: ("grey", (1, 2, 4, 8, 16), 1),
    2: ("RGB", (8, 16), 3),
    3: ("palette", (1, 2, 4, 8), 1),
    4: ("grey+alpha", (8, 16), 2),
    6: ("RGBA", (8, 16), 4),
}

# Adam7 passes: (x start, y start, x step, y step).
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


class PNGProblem(Exception):
    """Something that makes the file invalid."""


def read_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split into (type, body) pairs, verifying lengths and CRCs; stops after IEND."""
    if not data.startswith(SIGNATURE):
        raise PNGProblem("bad signature (not a PNG file)")
    chunks = []
    at = len(SIGNATURE)
    while True:
        if at + 12 > len(data):
            raise PNGProblem(f"truncated chunk header at byte {at}")
        (length,) = struct.unpack(">I", data[at:at + 4])
        ctype = data[at + 4:at + 8]
        if length > 0x7FFFFFFF:
            raise PNGProblem(f"chunk length {length} at byte {at} exceeds 2^31 - 1")
        if not all(65 <= b <= 90 or 97 <= b <= 122 for b in ctype):
            raise PNGProblem(f"invalid chunk type {ctype!r} at byte {at}")
        end = at + 8 + length
        if end + 4 > len(data):
            raise PNGProblem(f"{ctype.decode()} chunk at byte {at} runs past the end of the file")
        body = data[at + 8:end]
        (stored,) = struct.unpack(">I", data[end:end + 4])
        computed = zlib.crc32(ctype + body) & 0xFFFFFFFF
        if stored != computed:
            raise PNGProblem(f"CRC mismatch in {ctype.decode()} chunk at byte {at}: "
                             f"stored {stored:08x}, computed {computed:08x}")
        chunks.append((ctype, body))
        at = end + 4
        if ctype == b"IEND":
            break
    if at != len(data):
        raise PNGProblem(f"{len(data) - at} bytes after IEND")
    return chunks


def check_order(chunks: list[tuple[bytes, bytes]]) -> None:
    types = [t for t, _ in chunks]
    if types[0] != b"IHDR":
        raise PNGProblem("first chunk is not IHDR")
    if types.count(b"IHDR") != 1:
        raise PNGProblem("more than one IHDR")
    if chunks[-1][1]:
        raise PNGProblem("IEND is not empty")
    idat = [i for i, t in enumerate(types) if t == b"IDAT"]
    if not idat:
        raise PNGProblem("no IDAT chunk")
    if idat != list(range(idat[0], idat[-1] + 1)):
        raise PNGProblem("IDAT chunks are not consecutive")
    if b"PLTE" in types and types.index(b"PLTE") > idat[0]:
        raise PNGProblem("PLTE after IDAT")
    for t in types:
        if not (t[0] & 0x20) and t not in (b"IHDR", b"PLTE", b"IDAT", b"IEND"):
            raise PNGProblem(f"unknown critical chunk {t.decode()}")


def parse_ihdr(body: bytes) -> dict:
    if len(body) != 13:
        raise PNGProblem(f"IHDR has {len(body)} bytes, not 13")
    width, height, depth, colour, compression, filt, interlace = struct.unpack(">IIBBBBB", body)
    if not (1 <= width <= 0x7FFFFFFF and 1 <= height <= 0x7FFFFFFF):
        raise PNGProblem(f"invalid dimensions {width}x{height}")
    if colour not in COLOUR_TYPES:
        raise PNGProblem(f"invalid colour type {colour}")
    name, depths, samples = COLOUR_TYPES[colour]
    if depth not in depths:
        raise PNGProblem(f"bit depth {depth} is not allowed for colour type {colour} ({name})")
    if compression != 0 or filt != 0 or interlace not in (0, 1):
        raise PNGProblem(f"invalid compression/filter/interlace method {compression}/{filt}/{interlace}")
    return dict(width=width, height=height, depth=depth, colour=colour, name=name,
                samples=samples, interlace=interlace)


def unfilter(raw: bytes, at: int, width: int, height: int, bits_per_pixel: int,
             out: bytearray) -> int:
    """Undo the filters of one (sub)image starting at raw[at]; append rows to out.

    Returns the offset just past the (sub)image.
    """
    if width == 0 or height == 0:
        return at
    stride = (width * bits_per_pixel + 7) // 8
    bpp = max(1, bits_per_pixel // 8)
    previous = bytearray(stride)
    for y in range(height):
        if at + 1 + stride > len(raw):
            raise PNGProblem("image data is shorter than the header requires")
        ftype = raw[at]
        line = bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        if ftype == 0:
            pass
        elif ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        else:
            raise PNGProblem(f"invalid filter type {ftype} on row {y}")
        out += line
        previous = line
    return at


def inflate(idat: bytes) -> bytes:
    d = zlib.decompressobj()
    try:
        raw = d.decompress(idat) + d.flush()
    except zlib.error as e:
        raise PNGProblem(f"IDAT does not inflate: {e}") from None
    if not d.eof:
        raise PNGProblem("IDAT zlib stream is incomplete")
    if d.unused_data:
        raise PNGProblem(f"{len(d.unused_data)} bytes after the end of the IDAT zlib stream")
    return raw


def text_chunks(chunks: list[tuple[bytes, bytes]]) -> list[tuple[str, str, str]]:
    """(chunk type, keyword, value) of every tEXt, zTXt and iTXt chunk, in order."""
    found = []
    for ctype, body in chunks:
        if ctype not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        name = ctype.decode()
        key, sep, rest = body.partition(b"\0")
        if not sep or not 1 <= len(key) <= 79:
            raise PNGProblem(f"{name} chunk without a valid keyword")
        keyword = key.decode("latin-1")
        if ctype == b"tEXt":
            value = rest.decode("latin-1")
        elif ctype == b"zTXt":
            if not rest or rest[0] != 0:
                raise PNGProblem(f"zTXt {keyword!r}: bad compression method")
            try:
                value = zlib.decompress(rest[1:]).decode("latin-1")
            except zlib.error as e:
                raise PNGProblem(f"zTXt {keyword!r} does not inflate: {e}") from None
        else:
            if len(rest) < 2 or rest[0] not in (0, 1) or rest[1] != 0:
                raise PNGProblem(f"iTXt {keyword!r}: bad compression flag or method")
            flag = rest[0]
            parts = rest[2:].split(b"\0", 2)
            if len(parts) != 3:
                raise PNGProblem(f"iTXt {keyword!r}: missing language tag or translated keyword")
            payload = parts[2]
            try:
                if flag:
                    payload = zlib.decompress(payload)
                value = payload.decode("utf-8")
            except (zlib.error, UnicodeDecodeError) as e:
                raise PNGProblem(f"iTXt {keyword!r}: {e}") from None
        found.append((name, keyword, value))
    return found


def check_file(path: str) -> tuple[dict, list[tuple[str, str, str]], str]:
    """Validate one file; returns (header, text chunks, SHA-256 of the unfiltered rows)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise PNGProblem(f"cannot read: {e.strerror}") from None
    chunks = read_chunks(data)
    check_order(chunks)
    header = parse_ihdr(chunks[0][1])
    if header["colour"] == 3 and not any(t == b"PLTE" for t, _ in chunks):
        raise PNGProblem("palette image without PLTE")
    raw = inflate(b"".join(body for t, body in chunks if t == b"IDAT"))
    bits = header["depth"] * header["samples"]
    w, h = header["width"], header["height"]
    pixels = bytearray()
    if header["interlace"] == 0:
        at = unfilter(raw, 0, w, h, bits, pixels)
    else:
        at = 0
        for x0, y0, dx, dy in ADAM7:
            pw = (w - x0 + dx - 1) // dx if w > x0 else 0
            ph = (h - y0 + dy - 1) // dy if h > y0 else 0
            at = unfilter(raw, at, pw, ph, bits, pixels)
    if at != len(raw):
        raise PNGProblem(f"image data has {len(raw) - at} bytes more than the header requires")
    return header, text_chunks(chunks), hashlib.sha256(pixels).hexdigest()


def run_pngcheck(path: str) -> tuple[bool, str]:
    result = subprocess.run(["pngcheck", "-q", path], capture_output=True, text=True)
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE.png")
    parser.add_argument("--require-text", action="append", default=[], metavar="KEY=VALUE",
                        help="fail unless a text chunk has this keyword and value (repeatable)")
    parser.add_argument("--no-pngcheck", action="store_true", help="do not run pngcheck even if installed")
    args = parser.parse_args(argv)

    required = []
    for item in args.require_text:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--require-text needs KEY=VALUE, got {item!r}")
        required.append((key, value))

    pngcheck = None if args.no_pngcheck else shutil.which("pngcheck")
    failures = 0
    for path in args.files:
        try:
            header, texts, digest = check_file(path)
        except PNGProblem as e:
            print(f"{path}: INVALID: {e}")
            failures += 1
            continue
        print(f"{path}: OK {header['width']}x{header['height']} colour type {header['colour']} "
              f"({header['name']}), {header['depth']}-bit, "
              f"{'Adam7' if header['interlace'] else 'not'} interlaced")
        for name, key, value in texts:
            print(f"  {name} {key}={value!r}")
        print(f"  scanlines sha256 {digest}")
        ok = True
        pairs = {(k, v) for _, k, v in texts}
        for key, value in required:
            if (key, value) not in pairs:
                print(f"  MISSING text {key}={value!r}")
                ok = False
        if pngcheck:
            passed, output = run_pngcheck(path)
            print(f"  pngcheck: {'OK' if passed else 'FAILED'}" + ("" if passed else f": {output}"))
            ok = ok and passed
        failures += not ok
    if pngcheck is None and not args.no_pngcheck:
        print("(pngcheck not installed; standard-library checks only)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
