"""Figure 4: the input doctor fixing a 10 s 4K (3840x2160) 60 fps clip into a valid 1080p clip.

The source is H.264/AAC at ~80 Mbit/s (a phone's 4K60 rate), testsrc2 with temporal noise for
camera grain, so it is over the 100 MiB upload limit and needs scale + shrink. `fix_video` is
timed (it probes its own output too); the baseline is the clip's own length. The result is
checked by `probe_video` and the rules (1920x1080, under 100 MiB), and its quality measured
with ffmpeg's ssim and psnr filters against the source scaled to the output size (bicubic).
"""

from __future__ import annotations

import os
import re
import time

from kling_ui.core import rules
from kling_ui.media.fix import fix_video
from kling_ui.media.probe import probe_video

from . import media
from .context import Ctx
from .stats import Figure, median

SOURCE_MBPS = 80.0


def quality(out: str, src: str, width: int, height: int) -> tuple[float, float]:
    """(SSIM All, PSNR average dB) of `out` against `src` scaled to width x height."""
    graph = (f"[1:v]scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p,split[r1][r2];"
             "[0:v]setsar=1,format=yuv420p,split[d1][d2];[d1][r1]ssim;[d2][r2]psnr")
    err = media.ffmpeg("-i", out, "-i", src, "-lavfi", graph, "-f", "null", "-").stderr
    ssim = re.search(r"SSIM .*All:([\d.]+)", err)
    psnr = re.search(r"PSNR .*average:([\d.]+|inf)", err)
    return (float(ssim.group(1)) if ssim else float("nan"),
            float(psnr.group(1)) if psnr else float("nan"))


def run(ctx: Ctx) -> list[Figure]:
    seconds = 3.0 if ctx.quick else 10.0
    src = media.make_clip(ctx.tmp / f"doctor-4k60-{seconds:.0f}s.mp4", width=3840, height=2160,
                          fps=60, seconds=seconds, mbps=SOURCE_MBPS)
    info = probe_video(str(src))
    times: list[float] = []
    sizes: list[float] = []
    out = ""
    for i in range(ctx.reps(3, 1)):
        out_dir = ctx.tmp / f"doctor-out-{i}"
        out_dir.mkdir(exist_ok=True)
        for old in out_dir.iterdir():
            old.unlink()
        t0 = time.perf_counter()
        out, fixes = fix_video(info, str(out_dir))
        times.append(time.perf_counter() - t0)
        sizes.append(os.path.getsize(out))
        ctx.log(f"doctor run {i}: {times[-1]:.1f} s for {seconds:.0f} s of 4K60 "
                f"-> {sizes[-1] / 2**20:.1f} MiB ({', '.join(f.action for f in fixes)})")
    result = probe_video(out)
    problems = [p.message for p in rules.check_video(result, "reference_video") if p.is_error]
    valid = (not problems and (result.width, result.height) == (1920, 1080)
             and result.bytes < rules.UPLOAD_MAX_BYTES)
    ssim, psnr = quality(out, str(src), result.width, result.height)
    ctx.log(f"doctor output {result.width}x{result.height} {result.fps:g} fps, "
            f"SSIM {ssim:.4f}, PSNR {psnr:.2f} dB, valid={valid}")
    size_mib = median(sizes) / 2**20
    return [
        Figure(name="doctor", title=f"4 doctor 4K60 -> 1080p, {seconds:.0f} s clip",
               ours=median(times), baseline=info.duration, unit="s", target="<= 1.5x real time",
               check=lambda _o, _b, r: r <= 1.5 and valid, baseline_label="clip length",
               reps={"fix_video (s)": times, "output (MiB)": [s / 2**20 for s in sizes]},
               notes=[f"Source {info.width}x{info.height} {info.fps:g} fps {info.video_codec}, "
                      f"{info.bytes / 2**20:.1f} MiB. Output {result.width}x{result.height} "
                      f"{result.fps:g} fps, {size_mib:.1f} MiB (limit 100 MiB), valid for "
                      f"Kling: {valid}{'; ' + '; '.join(problems) if problems else ''}. "
                      f"Quality vs the source scaled to {result.width}x{result.height}: "
                      f"SSIM {ssim:.4f}, PSNR {psnr:.2f} dB."]),
        Figure(name="doctor", title="4 doctor output size", ours=size_mib, baseline=100.0,
               unit="MiB", target="< 100 MiB, SSIM >= 0.95",
               check=lambda o, _b, _r: o < 100 and ssim >= 0.95, baseline_label="upload limit",
               notes=[f"SSIM {ssim:.4f}, PSNR {psnr:.2f} dB against the scaled source."]),
    ]
