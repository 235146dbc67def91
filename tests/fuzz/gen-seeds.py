#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
"""Writes the hand-made seeds of the fuzz targets prefs, mjpeg, client-reports
and server-commands into tests/fuzz/<target>/ (what the inputs mean is
described at the top of each fuzz-<target>.c, the bytes below). Regression
seeds (crash-*) are not made here: they are kept as libFuzzer found them, or
as they were written by hand once to isolate one bug.

    python3 tests/fuzz/gen-seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(bytes(data))


def u8(v):
    return struct.pack('<B', v & 0xff)


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


# ---- prefs: caps u32, n u8, client codec bytes, factory-fail u32,
# probe-fail u32, flags u8, string [NUL string], then one byte per list
# entry for the fake encoders.
MULTI, C_MJPEG, C_VP8, C_H264, C_VP9, C_H265 = 3, 4, 5, 6, 7, 8  # cap bit numbers
ALL_CAPS = sum(1 << c for c in (MULTI, C_MJPEG, C_VP8, C_H264, C_VP9, C_H265))


def prefs(caps, client, fail, probe, flags, first, second=None, tail=b''):
    data = u32(caps) + u8(len(client)) + bytes(client) + u32(fail) + u32(probe) + u8(flags)
    data += first.encode()
    if second is not None:
        data += b'\0' + second.encode()
    return data + tail


def gen_prefs():
    write('prefs', 'valid-list',
          prefs(0x3f, [3, 2, 1], 0, 0, 0, 'spice:mjpeg;gstreamer:h264;;vpx:vp8'))
    write('prefs', 'auto-then-invalid',
          prefs(ALL_CAPS, [2], 0, 0, 1, 'auto', 'spice&:mjpeg;foo:bar;spice:xyz;x264:vp8'))
    write('prefs', 'all-invalid-keeps-list',
          prefs(1 << C_MJPEG, [], 0, 0, 1, ';;;', 'auto;'))
    write('prefs', 'client-sort-repeats',
          prefs(ALL_CAPS, [4, 4, 0, 9, 255, 2, 1], 0x5, 0x2, 2,
                'gstreamer:vp9;spice:mjpeg;gstreamer:vp8;gstreamer:h264;x264:h264;vpx:vp9'))
    write('prefs', 'no-mjpeg-cap',
          prefs(1 << MULTI | 1 << C_VP8, [2], 0xffffffff, 0, 2,
                'spice:vp8;gstreamer:vp8;spice:mjpeg', tail=b'\x0b\x3c\xff'))
    write('prefs', 'old-client',
          prefs(0, [1], 0, 0xffffffff, 0, 'gstreamer:h264;spice:mjpeg;gstreamer:mjpeg',
                tail=b'\x04\x08\x33'))


# ---- mjpeg: mode u8, q u8, start kbit/s u16, rtt u8, fps u8, then ops:
# 0..3 frame (fmt, w, h, stride mode, size mode, chunk mode, src mode, flags,
# [src bytes], [n-1 chunk length bytes]), 4 report, 5 server drop, 6 clock
# jump (u16 ms), 7 free a kept buffer.
FMT_16, FMT_24, FMT_32, FMT_RGBA, FMT_8, FMT_1 = 6, 7, 8, 9, 5, 1


def frame(fmt, w, h, stride=0, size=0, chunks=0, src=0, flags=0, extra=b''):
    return u8(0) + bytes([fmt, w, h, stride, size, chunks, src, flags]) + extra


def report(frames, drops, start_back, end_back, delay, audio=None, cannot=False):
    kind = 4 | (8 if audio is None else 0) | (0x10 if cannot else 0)
    data = u8(kind) + u8(frames) + u8(drops) + u16(start_back) + u16(end_back) + u16(delay)
    return data + (b'' if audio is None else u16(audio))


def gen_mjpeg():
    fixed50 = u8(1) + u8(50) + u16(10000) + u8(10) + u8(25)
    write('mjpeg', 'fixed-32bit-top-down', fixed50 + frame(FMT_32, 64, 48, flags=1 | 80))
    write('mjpeg', 'fixed-24bit-bottom-up-inside-chunks',
          fixed50 + frame(FMT_24, 100, 60, stride=1 | 4 * 3, chunks=3, src=2, flags=40,
                          extra=u8(10) + u8(70) + u8(20) + u8(50) + u8(0x05) + u8(0x70)))
    write('mjpeg', 'fixed-16bit-short-chunks',
          fixed50 + frame(FMT_16, 33, 17, chunks=7, flags=1,
                          extra=bytes([0x01, 0x03, 0x00, 0x50, 0x07, 0x90])))
    rc = u8(0x0c) + u8(0) + u16(2000) + u8(30) + u8(25)
    ops = b''
    for i in range(12):
        ops += frame(FMT_32 if i % 3 else FMT_RGBA, 48, 32, flags=1 | (40 << 1))
        if i % 4 == 3:
            ops += report(10, 0, 400, 40, 150)
        if i % 5 == 4:
            ops += u8(5)
    ops += report(10, 4, 400, 40, -300, audio=200)
    ops += u8(6) + u16(3000) + u8(7)
    ops += frame(FMT_32, 48, 32, flags=1 | (40 << 1))
    write('mjpeg', 'rate-control-reports-drops', rc + ops)
    write('mjpeg', 'invalid-formats',
          fixed50 + frame(0, 16, 16) + frame(FMT_8, 16, 16) + frame(FMT_1, 16, 16) +
          frame(0xf5, 16, 16) + frame(10, 16, 16))
    write('mjpeg', 'bad-strides-sizes-rects',
          fixed50 + frame(FMT_32, 40, 40, stride=2, flags=1) +
          frame(FMT_32, 40, 40, size=1, flags=1) +
          frame(FMT_32, 40, 40, size=3 | 4, flags=0) +
          frame(FMT_24, 40, 40, src=4) + frame(FMT_24, 40, 40, src=5) +
          frame(FMT_24, 40, 40, src=6, extra=bytes([0xf0, 0x10, 0x30, 0x08])) +
          frame(FMT_32, 0, 0) + frame(FMT_32, 128, 1, stride=3 | 4 * 60, flags=1))
    write('mjpeg', 'declared-size-larger-than-data',
          fixed50 + frame(FMT_32, 32, 32, chunks=0x80 | 0x08, flags=1) +
          frame(FMT_32, 32, 32, chunks=0x80 | 0x08, flags=0) +
          frame(FMT_24, 32, 32, chunks=0x40 | 0x10 | 0x80, flags=1) +
          frame(FMT_16, 32, 32, chunks=0xc0 | (5 << 3), flags=1) +
          frame(FMT_32, 32, 32, chunks=0x80, src=7 | 0x80 | (1 << 3),
                extra=bytes([0, 0, 0, 0]), flags=1) +
          frame(FMT_32, 32, 32, src=7 | 0x80 | (2 << 3) | (2 << 4), extra=bytes([0, 0, 0, 0])))
    write('mjpeg', 'refused-configs', u8(2) + u8(7) + u16(100))
    write('mjpeg', 'cannot-decode-quirks',
          u8(3) + u8(0) + u16(500) + u8(0) + u8(0) +
          frame(FMT_32, 32, 32, flags=1) + report(0, 0, 0, 0, 0, cannot=True) +
          frame(FMT_32, 32, 32, flags=1 | (100 << 1)))



# ---- client-reports: setup u8 (1 ALL mode, 2 interactive, 4 audio, 8 superseded
# drops, 0x10 skip busy link, 0x20 SPICE_BIT_RATE, 0x40 fake encoder), tuning
# u8 (start condition 2 + t % 19, max streams 1 + (t >> 5) * 9), seed u8,
# clients-1 u8, (caps u8, net u8) per client, then ops (kind u8: kind % 12,
# client kind >> 4 % clients): 0-2 report, 3 preferred codecs, 4 ping, 5 tick,
# 6-7 video frames, 8 pop, 9 add client, 10 remove client, 11 audio.
def cr_report(how, sid, uid=b'', start=100, end=20, frames=10, drops=0, delay=100, audio=None):
    data = u8(0) + u8(how) + (u8(sid) if (how >> 2) & 3 < 3 else u32(sid))
    data += uid + u16(start) + u16(end) + u8(frames) + u8(drops) + u16(delay)
    return data + (u16(audio) if audio is not None else b'')


def gen_client_reports():
    tuning = 3 | (7 << 5)  # 5 counted frames, 64 streams
    head = lambda setup, clients: u8(setup) + u8(tuning) + u8(7) + u8(len(clients) - 1) + \
        b''.join(u8(c) + u8(n) for c, n in clients)
    video = u8(6 | 0x20 | 0x40) + u8(7)
    ops = video + cr_report(0, 0) + cr_report(0, 0, frames=20, drops=5, delay=-200 & 0xffff)
    ops += video + cr_report(0x40, 0, audio=300) + u8(5) + u16(800) + video
    write('client-reports', 'mjpeg-reports', head(1, [(0, 0)]) + ops)
    write('client-reports', 'fake-two-clients', head(1 | 0x40, [(0, 0), (0x80 | 0x0f, 0x81)]) + ops
          + u8(0x10) + u8(0x10) + u32(1234) + u16(0) + u16(0) + u8(1) + u8(1) + u16(5))
    write('client-reports', 'cannot-decode',
          head(1, [(0, 0), (0, 0)]) + video + u8(0x10 | 0) + u8(0x80) + u8(0) +
          u16(0) + u16(0) + u8(0) + u8(0) + u16(0) + video)
    write('client-reports', 'disconnect-out-of-range',
          head(1, [(0, 0), (0, 3)]) + cr_report(8, 50) + video + cr_report(12, 0xffffffff) + video)
    write('client-reports', 'preferred-codecs-ping-audio',
          head(1 | 2 | 4, [(0x40, 0x55)]) + u8(3) + u8(3) + bytes([2, 1, 0x90]) + video +
          u8(4) + u16(80) + u8(4) + u16(3) + u8(11 | 0x10) + video + cr_report(0, 0) +
          u8(11) + u8(9) + u8(0) + u8(0x21) + video + u8(10) + video)
    write('client-reports', 'interactive-second-stream',
          head(1 | 2 | 0x10 | 0x20, [(0, 0x41)]) + u8(7 | 0x10 | 0x20) + u8(7) +
          u8(6 | 0x10) + u8(7) + u8(8) + u8(2) + cr_report(0, 1) + u8(5) + u16(20000) + video)


# ---- server-commands: setup u8 (1 + setup % 3 = streaming mode OFF/ALL/FILTER,
# 4 interactive, 8 superseded drops, 0x10 skip busy link, 0x20 audio, 0x40
# fake encoder, 0x80 256x192 primary and one client (caps u8 follows the
# header)), tuning u8, max pipe u8, max tree u8, then ops (kind % 20):
# 0 create surface, 1 destroy, 2-6 draw, 7 update area, 8 copy bits, 9 add
# client, 10 remove, 11-12 pop, 13 tick, 14 pass, 15-16 video burst, 17 stop
# all / mode, 18 codec list, 19 reset (0x10) or audio. A coordinate is one byte
# b (b + 16 * (b & 1)) below 0xf0, then b and one byte (x 64), or from 0xf8 one
# of eight values at the ends of the int32 range; a rectangle is two
# coordinates and a width and height byte (0xf8.. negative, 0xff 0xff the
# whole plane).
def sc_rect(l, t, w, h):
    return bytes([l, t, w, h])


def sc_image_bitmap(fmt, w, h, layout=0, extra=b'', seed=3, chunk_lens=b'', pal=0x80):
    data = u8(3) + u8(fmt - 1) + u8(w) + u8(h) + u8(layout)
    if layout & 8:
        data += extra
    return data + u8(seed) + chunk_lens + u8(pal)


def sc_draw(qtype, surface=0, parts=0, bbox=(10, 10, 50, 40), effect=1, rop=8, rop3=0xcc,
            scale=0, body=b''):
    return u8(2) + u8(qtype | (surface << 4)) + u8(parts) + sc_rect(*bbox) + u8(effect) + \
        u16(rop) + u8(rop3) + u8(scale) + body


def sc_header(setup, tuning=3 | (7 << 5), pipe=49, tree=62, caps=None):
    data = u8(setup) + u8(tuning) + u8(pipe) + u8(tree)
    return data + (u8(caps) if caps is not None else b'')


def gen_server_commands():
    burst = u8(15) + u8(0x30) + u8(23) + u8(92) + u8(72) + u8(10) + u8(10)
    write('server-commands', 'video-burst-mjpeg',
          sc_header(0x80 | 1, caps=0) + burst + u8(13) + u16(30000) + u8(11) + u8(0))
    draws = b''
    for t in range(15):
        body = b''
        parts = 0x3f if t % 2 else 0x2d
        if parts & 1:
            body += u8(2) + sc_rect(12, 12, 20, 20) + sc_rect(30, 30, 30, 30)
        if parts & 2:
            body += u8(0x80) + sc_rect(0, 0, 8, 8) + u8(0) + sc_rect(0, 0, 0, 0) + u8(0) + \
                sc_rect(0, 0, 0, 0)
        if parts & 4:
            body += sc_image_bitmap(8, 32, 24, layout=0x21, chunk_lens=b'\x05') + \
                sc_rect(0, 0, 32, 24)
        if parts & 8:
            body += u8(2) + u32(0x00ff8040) + u8(2) + u8(1) + u8(8) + u8(8) + u8(0) + u8(0) + \
                u8(0x80) + u8(0) + u8(0)
        if parts & 0x10:
            body += sc_image_bitmap(10, 16, 16) + u8(1) + u8(2) + u8(2)
        if parts & 0x20:
            body += u8(4) + u8(4) + u32(0x00ffffff) + u8(128) + u8(1) + u32(0) + u8(0) + u8(0) + \
                u8(0) + u8(0) + u16(100)
        draws += sc_draw(t, parts=parts, body=body)
    write('server-commands', 'every-draw-type', sc_header(0x80 | 2, caps=1) + draws +
          u8(11) + u8(0))
    write('server-commands', 'transforms-composite',
          sc_header(0x80 | 1, caps=0) +
          sc_draw(14, parts=0x54, body=sc_image_bitmap(9, 20, 20) + sc_rect(0, 0, 20, 20) +
                  sc_image_bitmap(10, 20, 20) + u8(0) + u8(0) + u8(0) + u8(0x0b) +
                  bytes([64, 0, 0, 0, 64, 0])) +
          sc_draw(14, parts=0x44, body=u8(1) + u8(0) + u8(20) + u8(20) + sc_rect(0, 0, 80, 80) +
                  u8(0x05) + u32(0x12345) + u32(0) + u32(0x7fffffff) + u32(0) + u32(1) +
                  u32(0x80000000)))
    surf = u8(0) + u8(1 | 0x10 | 0x20) + u8(63) + u8(47) + u8(2) + u8(0x13)  # 16_565, bottom-up
    write('server-commands', 'surfaces-copy-bits-update',
          sc_header(0x80 | 2, caps=0x01) + surf +
          sc_draw(3, surface=1, parts=0x04, body=u8(1) + u8(0) + u8(0) + u8(0) +
                  sc_rect(0, 0, 60, 40)) +
          sc_draw(3, surface=0, parts=0x04, bbox=(100, 100, 64, 48),
                  body=u8(1) + u8(1) + u8(64) + u8(48) + sc_rect(0, 0, 64, 48)) +
          u8(8) + u8(0) + sc_rect(0, 20, 200, 100) + u8(0) + u8(0) +
          u8(7) + u8(1) + sc_rect(0, 0, 64, 48) + burst + u8(1) + u8(0) + u8(11) + u8(0) +
          u8(19 | 0x10) + u8(11) + u8(0))
    pal = b''
    for fmt in (1, 2, 3, 4, 5):
        pal += sc_draw(3, parts=0x04, body=sc_image_bitmap(fmt, 33, 9, layout=0x13, seed=fmt,
                                                            chunk_lens=b'\x02', pal=fmt * 3) +
                       sc_rect(0, 0, 33, 9))
        pal += sc_draw(3, parts=0x04, body=sc_image_bitmap(fmt, 7, 5, pal=0x80) +
                       sc_rect(0, 0, 7, 5))
    write('server-commands', 'palette-bitmaps', sc_header(0x80 | 1, caps=0) + pal)
    misc = lambda alpha: u8(0) + u8(0) + u32(0x00102030) + u8(alpha) + u8(1) + u32(0) + \
        u8(0) + u8(0) + u8(0) + u8(0) + u16(0)
    mask = u8(3) + u8(0x80) + u8(40) + u8(30) + u8(0x10) + u8(9) + u8(30) + u8(0x80)
    write('server-commands', 'masks-transparent-alpha-rendered',
          sc_header(0x80 | 1, caps=0) +
          sc_draw(11, parts=0xa4, bbox=(20, 20, 40, 30),
                  body=sc_image_bitmap(8, 40, 30) + sc_rect(0, 0, 40, 30) + misc(255)) +
          sc_draw(12, parts=0xa4, bbox=(30, 30, 40, 30),
                  body=sc_image_bitmap(9, 40, 30) + sc_rect(0, 0, 40, 30) + misc(128)) +
          sc_draw(3, parts=0x94, bbox=(50, 40, 40, 30),
                  body=sc_image_bitmap(8, 40, 30) + sc_rect(0, 0, 40, 30) + mask + u8(0) +
                  u8(0) + u8(0)) +
          sc_draw(1, parts=0x98, bbox=(60, 60, 40, 30),
                  body=u8(1) + u32(0x00ff00) + mask + u8(8) + u8(2) + u8(2)) +
          u8(11) + u8(0))
    fills = b''.join(sc_draw(1, parts=0x08, bbox=(i * 3, i * 2, 10, 10),
                             body=u8(1) + u32(0xff0000 + i)) for i in range(30))
    write('server-commands', 'clients-pipe-full',
          sc_header(0x80 | 0x40 | 1, pipe=4, tree=2, caps=0x81) + u8(9) + u8(0x02) + fills +
          u8(10) + u8(9) + u8(0x04) + burst + u8(12 | 0x20) + u8(3) + u8(17) + u8(1) +
          u8(18) + u8(2) + u8(18) + u8(1) + u8(19) + burst + u8(14))


if __name__ == '__main__':
    gen_prefs()
    gen_mjpeg()
    gen_client_reports()
    gen_server_commands()
