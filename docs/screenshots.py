"""Regenerate docs/screenshots/*.png as a visitor sees them at 1280x900: each tab right after a
run (its first preset; Done brings the result into view), Edit with a portrait phone clip, the
Library with a run open, the Text tab at phone width (390x844) after a run; and the demo polish
of issue #12 (presets with thumbnails, the A/B wipe on a portrait result) at both widths.

    .venv/bin/python app.py &            # the simulator is enough: KLING_SIM_SECONDS=2 is quick
    .venv/bin/python docs/screenshots.py [--url http://127.0.0.1:7860/]

Uses Debian's Chromium (/usr/bin/chromium) through Playwright, headless.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image
from playwright.sync_api import Locator, Page, expect, sync_playwright

OUT = Path(__file__).resolve().parent / "screenshots"
PORTRAIT = Path("/tmp/kling-screenshot-portrait.jpg")  # a 600x1000 start frame, made below
PHONE_CLIP = Path("/tmp/kling-screenshot-phone.mov")  # a 1080x1920 30 fps phone clip, made below
TABS = [("text", "Text to video"), ("frames", "Frames to video"),
        ("references", "References to video"), ("feature", "Video reference"),
        ("edit", "Edit video")]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--polish-only", action="store_true",
                        help="only presets*.png and wipe*.png (issue #12 point 6)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    # The girl of the presets' example, cut to a portrait start frame.
    with Image.open(Path(__file__).resolve().parents[1] / "assets/examples/girl_in_blue.png") as im:
        w, h = im.size
        im.convert("RGB").crop((w // 2 - h * 3 // 10, 0, w // 2 + h * 3 // 10, h)).resize(
            (600, 1000)).save(PORTRAIT, quality=90)
    make_phone_clip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # checks queue behind renders on a busy box
        page.goto(args.url)
        if args.polish_only:
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                        device_scale_factor=2).new_page()
            phone.set_default_timeout(60_000)
            phone.goto(args.url)
            polish(page, "")
            polish(phone, "-phone")
            browser.close()
            return
        for key, label in TABS:
            page.get_by_role("tab", name=label, exact=True).click()
            if key == "edit":  # a phone's portrait clip, as a visitor would bring one
                page.locator("#edit-video input[type=file]").set_input_files(str(PHONE_CLIP))
                expect(page.locator("#tab-edit .kling-card-html", has_text="1080x1920").first
                       ).to_be_visible()
                page.locator("#prompt-edit textarea").fill(
                    "Dress the girl in <<<video_1>>> in red silk and put her on a sunset beach")
            else:
                page.locator(f"#tab-{key} .kling-preset").first.click()
            expect(page.locator(f"#tab-{key} .kling-ok", has_text="Ready to run")).to_be_visible()
            page.locator(f"#{key}-run").click()
            after_run(page, key)
            page.screenshot(path=str(OUT / f"{key}.png"))
            print("wrote", OUT / f"{key}.png")
            if key == "edit":  # the README's first picture: the whole page down to the result
                page.set_viewport_size({"width": 1280, "height": 1040})
                page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(800)
                page.screenshot(path=str(OUT / "hero.png"))
                print("wrote", OUT / "hero.png")
                page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("tab", name="Library").click()
        gallery = page.locator("#kling-library-gallery")
        expect(gallery).to_contain_text("Done")
        gallery.get_by_role("button").first.click()
        expect(page.locator("#kling-library-detail video.kc-b")).to_be_attached()
        page.wait_for_timeout(2500)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(OUT / "library.png"), full_page=True)
        print("wrote", OUT / "library.png")
        # The phone: the same browser storage, so the same library, in a new tab.
        phone = page.context.browser.new_context(  # type: ignore[union-attr]
            viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2,
            storage_state=page.context.storage_state()).new_page()
        phone.set_default_timeout(60_000)
        phone.goto(args.url)
        phone.locator("#tab-text .kling-preset").nth(1).click()
        expect(phone.locator("#tab-text .kling-ok", has_text="Ready to run")).to_be_visible()
        phone.locator("#text-run").click()
        after_run(phone, "text")
        phone.screenshot(path=str(OUT / "phone.png"))
        print("wrote", OUT / "phone.png")
        polish(page, "")
        polish(phone, "-phone")
        browser.close()


def after_run(page: Page, key: str) -> None:
    """Wait for the run's result to play, then show both clips on one frame, as Done left them
    (in view, not scrolled back to the top)."""
    compare = page.locator(f"#{key}-compare video.kc-b")
    expect(compare).to_be_attached(timeout=120_000)
    page.wait_for_function("el => el.readyState >= 2", arg=compare.element_handle())
    expect(page.locator(f"#{key}-progress")).to_contain_text("Done")
    # Headless Chromium (no GPU) sometimes leaves a loaded clip's box black until it has played
    # a moment: play both briefly, then show the same frame side by side.
    page.evaluate("document.querySelectorAll('video.kc-media').forEach(v => v.play())")
    page.wait_for_timeout(800)
    page.evaluate("document.querySelectorAll('video.kc-media').forEach(v => {"
                  "v.pause(); v.currentTime = Math.min(1.5, (v.duration || 2) / 2); })")
    page.wait_for_timeout(2500)  # let both videos finish seeking and paint
    # Seen from the top (header, tabs, the run) when the whole result fits there, as it does
    # at 1280x900; else where Done scrolled it.
    page.evaluate(f"""() => {{ const box = document.querySelector('#{key}-compare .kc-stage')
        || document.querySelector('#{key}-compare');
      const bottom = box.getBoundingClientRect().bottom + window.scrollY;
      if (bottom <= window.innerHeight) window.scrollTo(0, 0); }}""")
    page.wait_for_timeout(300)


def make_phone_clip() -> None:
    """The example clip cut to a phone's portrait 1080x1920, 30 fps, with sound, as a .mov."""
    import subprocess

    import imageio_ffmpeg

    src = Path(__file__).resolve().parents[1] / "assets/examples/girl_in_blue.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(src),
                    "-vf", "crop=ih*9/16:ih,scale=1080:1920,fps=30", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(PHONE_CLIP)], check=True)


def shot(page: Page, where: Locator, path: Path, height: float | None = None) -> None:
    """A screenshot of `where` (its top `height` px). Not Locator.screenshot: that waits for a
    box that stops moving, which a page with playing videos and loading posters never gives."""
    where.evaluate("el => el.scrollIntoView()")
    page.wait_for_timeout(300)
    box = where.bounding_box()
    assert box is not None
    page.screenshot(path=str(path), clip={"x": box["x"], "y": max(0.0, box["y"]),
                                          "width": box["width"],
                                          "height": min(box["height"], height or box["height"])})


def polish(page: Page, suffix: str) -> None:
    """presets{suffix}.png: the Edit tab's preset row; wipe{suffix}.png: the A/B wipe at 30% on
    the Frames preset run with a portrait start frame (the wipe stays on the picture)."""
    page.goto(page.url)
    page.get_by_role("tab", name="Edit video", exact=True).click()
    row = page.locator("#tab-edit .kling-presets")
    expect(row.locator("img").first).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, page.locator("#tab-edit"), OUT / f"presets{suffix}.png", height=420)
    print("wrote", OUT / f"presets{suffix}.png")
    page.get_by_role("tab", name="Frames to video", exact=True).click()
    page.locator("#frames-start input[type=file]").set_input_files(str(PORTRAIT))
    expect(page.locator("#tab-frames .kling-card")).to_contain_text("600x1000")
    page.locator("#prompt-frames textarea").fill("The girl turns to the camera and smiles")
    page.locator("#tab-frames").get_by_label("std").check()
    expect(page.locator("#tab-frames .kling-ok", has_text="Ready to run")).to_be_visible()
    page.locator("#frames-run").click()
    compare = page.locator("#frames-compare .kling-compare")
    expect(compare.locator("video.kc-b")).to_be_attached(timeout=120_000)
    page.wait_for_function("v => v.readyState >= 2", arg=compare.locator("video.kc-b")
                           .element_handle())
    compare.get_by_label("A/B wipe").check()
    compare.locator('[data-kc="wipe"]').fill("30")
    page.evaluate("document.querySelectorAll('#frames-compare video').forEach(v => {"
                  "v.currentTime = 2.5; })")
    page.wait_for_timeout(2500)
    shot(page, compare, OUT / f"wipe{suffix}.png")
    print("wrote", OUT / f"wipe{suffix}.png")


if __name__ == "__main__":
    main()
