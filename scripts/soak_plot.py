#!/usr/bin/env python3
"""Summary and PNG plot of a soak run's CSV (written by scripts/soak.sh), standard library only.

    python3 scripts/soak_plot.py SOAK.csv SOAK.png --warmup SECONDS [--target-pct 10]

The CSV has a header and the columns t_s, rss_mb, disk_mb, committed, tx_per_s, height. The PNG
has three panels over time (RSS MB, disk MB, tx/s) drawn with a small line rasterizer and a 5x7
bitmap font into an RGB image written with zlib and struct: no matplotlib, so it runs on a machine
with no package index at all. The RSS panel shades the mean +-target band after the warm-up and
marks the warm-up's end. Prints the summary (also to stdout as key=value lines for scripts) and
exits 1 if the RSS after the warm-up leaves the band.
"""

import argparse
import csv
import math
import struct
import sys
import zlib

GLYPHS = {
    "0": "01110 10001 10011 10101 11001 10001 01110", "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111", "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010", "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110", "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110", "9": "01110 10001 10001 01111 00001 00010 01100",
    ".": "00000 00000 00000 00000 00000 01100 01100", "-": "00000 00000 00000 11111 00000 00000 00000",
    "+": "00000 00100 00100 11111 00100 00100 00000", "/": "00001 00010 00010 00100 01000 01000 10000",
    "%": "11001 11010 00010 00100 01000 01011 10011", ":": "00000 01100 01100 00000 01100 01100 00000",
    "(": "00010 00100 01000 01000 01000 00100 00010", ")": "01000 00100 00010 00010 00010 00100 01000",
    "=": "00000 00000 11111 00000 11111 00000 00000", ",": "00000 00000 00000 00000 01100 00100 01000",
    " ": "00000 00000 00000 00000 00000 00000 00000",
    "A": "01110 10001 10001 11111 10001 10001 10001", "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110", "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111", "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111", "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110", "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001", "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001", "N": "10001 11001 10101 10011 10001 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110", "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101", "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110", "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110", "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010", "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100", "Z": "11111 00001 00010 00100 01000 10000 11111",
}
WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (0, 0, 0), (200, 200, 200), (235, 242, 250)
BLUE, GREEN, ORANGE, RED = (31, 119, 180), (44, 160, 44), (255, 127, 14), (214, 39, 40)


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(WHITE * (w * h))

    def set(self, x, y, c):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = 3 * (y * self.w + x)
            self.px[i:i + 3] = bytes(c)

    def rect(self, x0, y0, x1, y1, c):
        for y in range(max(0, min(y0, y1)), min(self.h, max(y0, y1) + 1)):
            for x in range(max(0, min(x0, x1)), min(self.w, max(x0, x1) + 1)):
                self.set(x, y, c)

    def line(self, x0, y0, x1, y1, c, width=1, dash=0):
        """Bresenham; `width` pixels thick, dashed every `dash` pixels if set."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, n = dx + dy, 0
        while True:
            if not dash or (n // dash) % 2 == 0:
                for k in range(width):
                    self.set(x0, y0 + k, c)
                    self.set(x0 + k, y0, c)
            if x0 == x1 and y0 == y1:
                return
            e2, n = 2 * err, n + 1
            if e2 >= dy:
                err, x0 = err + dy, x0 + sx
            if e2 <= dx:
                err, y0 = err + dx, y0 + sy

    def text(self, x, y, s, c=BLACK, scale=2):
        for ch in s.upper():
            rows = GLYPHS.get(ch, GLYPHS[" "]).split()
            for r, bits in enumerate(rows):
                for col, b in enumerate(bits):
                    if b == "1":
                        self.rect(x + col * scale, y + r * scale, x + col * scale + scale - 1, y + r * scale + scale - 1, c)
            x += 6 * scale
        return x

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[3 * y * self.w:3 * (y + 1) * self.w]) for y in range(self.h))

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


def text_width(s, scale=2):
    return 6 * scale * len(s)


def nice_ticks(lo, hi, n=5):
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(t)
        t += step
    if ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks, step


def fmt(v, step):
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return f"{v:.{decimals}f}"


def panel(cv, box, ts, ys, colour, title, band=None, warmup=None):
    x0, y0, x1, y1 = box
    tmax = max(ts[-1], 1.0)
    t_ticks, t_step = nice_ticks(0, tmax, 6)
    t_ticks = [t for t in t_ticks if t <= tmax]
    lo, hi = min(ys), max(ys)
    if band:
        lo, hi = min(lo, band[0]), max(hi, band[1])
    pad = (hi - lo) * 0.05 or max(abs(hi) * 0.05, 1.0)
    y_ticks, y_step = nice_ticks(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad, 4)
    ylo, yhi = y_ticks[0], y_ticks[-1]

    def px(t, v):
        return (x0 + round((t / tmax) * (x1 - x0)), y1 - round((v - ylo) / (yhi - ylo) * (y1 - y0)))

    if band:
        _, by0 = px(0, band[1])
        _, by1 = px(0, band[0])
        bx0, _ = px(warmup or 0, 0)
        cv.rect(bx0, by0, x1, by1, LIGHT)
    for t in t_ticks:
        x, _ = px(t, ylo)
        cv.line(x, y0, x, y1, GREY)
        label = fmt(t, t_step)
        cv.text(x - text_width(label) // 2, y1 + 8, label)
    for v in y_ticks:
        _, y = px(0, v)
        cv.line(x0, y, x1, y, GREY)
        label = fmt(v, y_step)
        cv.text(x0 - 8 - text_width(label), y - 7, label)
    if warmup:
        wx, _ = px(warmup, ylo)
        cv.line(wx, y0, wx, y1, RED, dash=6)
    cv.line(x0, y0, x0, y1, BLACK)
    cv.line(x0, y1, x1, y1, BLACK)
    cv.line(x1, y0, x1, y1, BLACK)
    cv.line(x0, y0, x1, y0, BLACK)
    pts = [px(t, v) for t, v in zip(ts, ys)]
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        cv.line(ax, ay, bx, by, colour, width=2)
    if len(pts) == 1:
        cv.rect(pts[0][0] - 1, pts[0][1] - 1, pts[0][0] + 1, pts[0][1] + 1, colour)
    cv.rect(x0, y0 - 24, x0 + 14, y0 - 10, colour)
    cv.text(x0 + 22, y0 - 24, title)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("png")
    ap.add_argument("--warmup", type=float, required=True, help="seconds excluded from the RSS check")
    ap.add_argument("--target-pct", type=float, default=10.0, help="allowed RSS spread around its mean")
    a = ap.parse_args()
    with open(a.csv) as f:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    if len(rows) < 2:
        sys.exit(f"{a.csv}: {len(rows)} samples, need at least 2")
    ts = [r["t_s"] for r in rows]
    after = [r for r in rows if r["t_s"] >= a.warmup] or rows[-1:]
    if len(after) < 2:
        after = rows[-2:]
    rss = [r["rss_mb"] for r in after]
    mean = sum(rss) / len(rss)
    spread = max(abs(v - mean) for v in rss) / mean * 100
    first, last = after[0], after[-1]
    dt = last["t_s"] - first["t_s"]
    txs = last["committed"] - first["committed"]
    disk_per_tx = (last["disk_mb"] - first["disk_mb"]) * 1024 * 1024 / txs if txs > 0 else float("nan")
    span = rows[-1]["t_s"] - rows[0]["t_s"]
    total_tps = (rows[-1]["committed"] - rows[0]["committed"]) / span if span > 0 else 0.0
    ok = spread <= a.target_pct
    summary = {
        "samples": len(rows),
        "duration_s": round(ts[-1]),
        "warmup_s": round(a.warmup),
        "rss_after_warmup_min_mb": round(min(rss), 1),
        "rss_after_warmup_max_mb": round(max(rss), 1),
        "rss_after_warmup_mean_mb": round(mean, 1),
        "rss_spread_pct": round(spread, 2),
        "rss_flat": "yes" if ok else "NO",
        "disk_start_mb": round(rows[0]["disk_mb"], 1),
        "disk_end_mb": round(rows[-1]["disk_mb"], 1),
        "disk_bytes_per_tx_after_warmup": round(disk_per_tx) if txs > 0 else "n/a",
        "committed": int(rows[-1]["committed"]),
        "tx_per_s_mean_after_warmup": round(txs / dt, 1) if dt > 0 else 0.0,
        "tx_per_s_mean_overall": round(total_tps, 1),
        "height": int(rows[-1]["height"]),
    }

    w, ph, left, right, top, gap = 1000, 200, 110, 30, 70, 80
    bottom = top + 30 + 3 * ph + 2 * gap
    cv = Canvas(w, bottom + 60)
    cv.text(left, 12, f"CAIRN SOAK: RSS {min(rss):.1f}-{max(rss):.1f} MB AFTER WARM-UP (+-{spread:.1f}% OF MEAN)")
    cv.text(left, 34, f"{summary['tx_per_s_mean_after_warmup']} TX/S, "
                      f"{summary['disk_bytes_per_tx_after_warmup']} B/TX ON DISK, HEIGHT {summary['height']}", scale=2)
    band = (mean * (1 - a.target_pct / 100), mean * (1 + a.target_pct / 100))
    series = [("rss_mb", BLUE, f"RSS MB (BAND: MEAN +-{a.target_pct:g}% AFTER WARM-UP)", band),
              ("disk_mb", GREEN, "DISK MB (DATA DIRECTORY)", None),
              ("tx_per_s", ORANGE, "TX/S (COMMITTED)", None)]
    for i, (key, colour, title, b) in enumerate(series):
        y0 = top + 30 + i * (ph + gap)
        panel(cv, (left, y0, w - right, y0 + ph), ts, [r[key] for r in rows], colour, title, b, a.warmup)
    cv.text((w - text_width("TIME (S)")) // 2, bottom + 34, "TIME (S)")
    cv.png(a.png)
    for k, v in summary.items():
        print(f"{k}={v}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
