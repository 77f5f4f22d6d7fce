"""A minimal PNG decoder written from the specification (zlib and NumPy
only), independent of libpng: 8-bit greyscale, RGB and RGBA, no interlace.
Checks the signature and every chunk's CRC."""
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Png:
    """pixels: uint8 array (height, width, channels); text: tEXt chunks."""

    def __init__(self, pixels, text):
        self.pixels = pixels
        self.text = text

    @property
    def width(self):
        return self.pixels.shape[1]

    @property
    def height(self):
        return self.pixels.shape[0]


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw, width, height, bpp):
    stride = width * bpp
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    pos = 0
    for y in range(height):
        ftype = raw[pos]
        line = np.frombuffer(raw, np.uint8, stride, pos + 1).astype(np.int32)
        pos += 1 + stride
        if ftype == 0:
            cur = line
        elif ftype == 1:
            cur = (np.cumsum(line.reshape(width, bpp), axis=0) & 255).reshape(stride).astype(np.int32)
        elif ftype == 2:
            cur = (line + prev) & 255
        elif ftype in (3, 4):
            cur = np.zeros(stride, np.int32)
            for x in range(stride):
                a = int(cur[x - bpp]) if x >= bpp else 0
                b = int(prev[x])
                c = int(prev[x - bpp]) if x >= bpp else 0
                if ftype == 3:
                    pred = (a + b) >> 1
                else:
                    pred = _paeth(a, b, c)
                cur[x] = (int(line[x]) + pred) & 255
        else:
            raise ValueError("bad filter type %d in row %d" % (ftype, y))
        out[y] = cur
        prev = cur
    if pos != len(raw):
        raise ValueError("%d bytes of image data left over" % (len(raw) - pos))
    return out


def decode(data):
    if isinstance(data, str):
        with open(data, "rb") as f:
            data = f.read()
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG (bad signature)")
    pos = 8
    idat = []
    text = {}
    hdr = None
    seen_end = False
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC in chunk %r" % kind)
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"tEXt":
            k, v = body.split(b"\0", 1)
            text[k.decode("latin-1")] = v.decode("latin-1")
        elif kind == b"IEND":
            seen_end = True
            break
    if hdr is None or not seen_end:
        raise ValueError("no IHDR or IEND chunk")
    if pos != len(data):
        raise ValueError("bytes after IEND")
    width, height, depth, ctype, comp, filt, interlace = hdr
    if depth != 8 or ctype not in (0, 2, 6) or comp or filt or interlace:
        raise ValueError("unsupported PNG: depth %d colour type %d interlace %d" % (depth, ctype, interlace))
    ch = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(idat))
    px = _unfilter(raw, width, height, ch).reshape(height, width, ch)
    return Png(px, text)
