"""English and Simplified Chinese (issue #15, part 4): the catalogue, the rules core's messages in
the visitor's language, and the page in a zh-CN and an en-US browser."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kling_ui import i18n
from kling_ui.core.errors import (
    AuthError,
    InputError,
    KlingConnectionError,
    KlingTimeoutError,
    RateLimitError,
    ServerError,
)
from kling_ui.core.models import Tab
from kling_ui.core.rules import check_image, check_video, validate
from kling_ui.i18n import (
    EN,
    ZH,
    cost_text,
    error_text,
    field_label,
    fields_of,
    lang_of,
    problem_text,
    t,
)
from tests.factories import image, job, video
from tests.ui_fixtures import LaunchedApp, launched_app

ROOT = Path(__file__).resolve().parents[1]
ZH_HEADER = "zh-CN,zh;q=0.9"
EN_HEADER = "en-US"
HAN = re.compile(r"[\u4e00-\u9fff]")


# -- the catalogue -----------------------------------------------------------------------------

def test_every_key_exists_in_both_languages() -> None:
    assert set(EN) - set(ZH) == set(), "missing in zh-CN"
    assert set(ZH) - set(EN) == set(), "missing in English"


@pytest.mark.parametrize("key", sorted(EN))
def test_every_format_field_matches(key: str) -> None:
    assert fields_of(EN[key]) == fields_of(ZH[key]), key
    # A client-side label (no fields) must be translated, not copied, unless it is a name.
    if not fields_of(EN[key]) and not key.startswith(("field.", "list.")):
        assert EN[key] != ZH[key] or not re.search(r"[a-z]{3,}", EN[key]), key


def _keys_used_in_code() -> set[str]:
    """Every literal key the code passes to t()/_t()/i18n()/msg()/problem() (f-string keys
    such as f"tab.{tab.value}" are checked by the browser test and by their own tests)."""
    pattern = re.compile(
        r"""\b(?:t|_t|i18n|msg)\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']"""
        r"""|\bproblem\(\s*[^,]+,\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
    used: set[str] = set()
    for path in (ROOT / "kling_ui").rglob("*.py"):
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            used.add(m.group(1) or m.group(2))
    return used


def test_every_key_the_code_uses_is_in_the_catalogue() -> None:
    used = _keys_used_in_code()
    assert len(used) > 100  # the scan finds the calls at all
    assert used - set(EN) == set()


def test_the_dynamic_keys_exist() -> None:
    for tab in Tab:
        assert f"tab.{tab.value}" in EN and f"intro.{tab.value}" in EN
    for stage in ("checking", "fixing", "uploading", "starting", "processing", "downloading", "finishing",
                  "done", "queued"):
        assert f"stage.{stage}" in EN


def test_the_browser_gets_only_keys_without_fields() -> None:
    cats = i18n.client_catalogues()
    assert set(cats) == {"en", "zh-CN"}
    assert all("{" not in v and "}" not in v for c in cats.values() for v in c.values())
    assert cats["zh-CN"]["run"] == "运行" and cats["en"]["run"] == "Run"
    with pytest.raises(KeyError):
        i18n.i18n("counter")  # has fields: rendered on the server only


def test_a_missing_key_shows_its_id_rather_than_crashing() -> None:
    assert t("no.such.key", "zh-CN") == "no.such.key"


# -- choosing the language -----------------------------------------------------------------------

@pytest.mark.parametrize(("header", "lang"), [
    (ZH_HEADER, "zh-CN"), (EN_HEADER, "en"), ("", "en"), (None, "en"), ("zh", "zh-CN"),
    ("en-GB,en;q=0.9,zh-CN;q=0.8", "en"), ("fr-FR,zh-CN;q=0.8,en;q=0.5", "zh-CN"),
    ("zh-CN;q=0.5,en;q=0.9", "en"), ("de-DE", "en"), ("zh-TW,zh;q=0.9", "zh-CN"),
    ("garbage;;,", "en"), ("zh-CN;q=0", "en"),
])
def test_the_language_follows_accept_language(header: str | None, lang: str) -> None:
    assert lang_of(header) == lang


def _request(header: str) -> Any:
    return SimpleNamespace(headers={"accept-language": header})


def test_inside_a_handler_the_request_chooses_the_language() -> None:
    from gradio.context import LocalContext

    from kling_ui.ui.common import problems_html

    problems = validate(job(Tab.TEXT, prompt=""))
    token = LocalContext.request.set(_request(ZH_HEADER))
    try:
        assert "提示词为空" in problems_html(problems)
    finally:
        LocalContext.request.reset(token)
    token = LocalContext.request.set(_request(EN_HEADER))
    try:
        assert "The prompt is empty." in problems_html(problems)
    finally:
        LocalContext.request.reset(token)
    assert "The prompt is empty." in problems_html(problems)  # no request: English


# -- the rules core in both languages -------------------------------------------------------------

def test_an_empty_prompt_renders_in_chinese_and_in_english() -> None:
    [p] = [p for p in validate(job(Tab.TEXT, prompt="   ")) if p.field == "prompt"]
    assert p.message == "The prompt is empty. Describe the video you want."  # API: English
    assert problem_text(p, lang_of(ZH_HEADER)) == "提示词为空。请描述你想要的视频。"
    assert problem_text(p, lang_of(EN_HEADER)) == p.message
    assert field_label(p.field, "zh-CN") == "提示词" and field_label(p.field, "en") == "Prompt"


def test_a_too_long_clip_renders_in_chinese_and_in_english() -> None:
    [p] = [p for p in check_video(video(duration=12.34)) if p.fix == "trim"]
    assert p.message == "is 12.3 s; Kling accepts 3-10 s. Pick a window with the trim slider."
    zh = problem_text(p, lang_of(ZH_HEADER))
    assert zh == "时长为 12.3 秒；Kling 接受 3-10 秒。请用裁剪滑块选择一个片段。"
    assert problem_text(p, lang_of(EN_HEADER)) == p.message


def _every_problem() -> list[Any]:
    """At least one problem of every kind the five tabs' checks can show."""
    out: list[Any] = []
    out += check_image(image(animated=True, frames=12, format="GIF", bytes=12_000_000,
                             width=200, height=900, orientation=6, has_metadata=True), "start_image")
    out += check_image(image(mode="CMYK", format="JPEG"), "end_image")
    out += check_video(video(container="mkv", video_codec="vp9", duration=2.0, width=1,
                             height=1, fps=12.0, bytes=250_000_000))
    out += check_video(video(width=640, height=360, variable_fps=True, bytes=150_000_000,
                             duration=30.0))
    long_sent = "@Image1 " * 400
    refs = tuple(image(f"r{i}.png") for i in range(8))
    jobs = [
        job(Tab.TEXT, prompt="", reference_images=(image(),)),
        job(Tab.TEXT, prompt="x" * 2600, quality="ultra", aspect_ratio="4:3", duration=7),
        job(Tab.FRAMES, prompt=long_sent),
        job(Tab.REFERENCES, prompt="<<<image_9>>> and <<<video_2>>> and < <<image_1>>> >"),
        job(Tab.REFERENCES, prompt="a", reference_images=refs),
        job(Tab.FEATURE, prompt="a @Image1", reference_images=refs[:5], reference_video=video()),
        job(Tab.EDIT, prompt="<<<video_1>>>", start_image=image(), end_image=image(),
            reference_images=refs[:2]),
        job(Tab.EDIT, prompt="hi"),
        job(Tab.FRAMES, prompt="<<<video_1>>> @image1 @Image2 @Image3 @image4 @image5",
            end_image=image(), reference_video=video(), reference_images=refs[:3]),
    ]
    for j in jobs:
        out += validate(j)
    return out


def test_every_message_a_user_can_hit_has_a_translation() -> None:
    problems = _every_problem()
    keys = {p.msg.key for p in problems}
    for must in ("rules.prompt.empty", "rules.frames.need_start", "rules.video.needed",
                 "rules.video.too_long", "rules.video.too_short", "rules.video.too_big",
                 "rules.image.too_big", "rules.image.format", "rules.images.too_many",
                 "rules.image.aspect", "tokens.no_image", "tokens.no_video", "tokens.spaced",
                 "tokens.rewritten", "rules.prompt.too_long", "rules.duration", "rules.mode",
                 "rules.aspect_ratio", "rules.end.too_many", "rules.edit.no_frames"):
        assert must in keys, must
    for p in problems:
        assert p.msg is not None, p  # every rules-core problem carries its id
        zh = problem_text(p, "zh-CN")
        assert HAN.search(zh), (p.msg.key, zh)
        assert "{" not in zh and " as " not in zh and "with a video" not in zh, zh
        assert problem_text(p, "en") == p.message


def test_the_english_of_the_rules_core_is_unchanged() -> None:
    [p] = [p for p in validate(job(Tab.REFERENCES, prompt="a",
                                   reference_images=tuple(image() for _ in range(8))))
           if p.msg.key == "rules.images.too_many"]
    assert p.message == "8 images; Kling takes at most 7 without a video. Remove 1."
    assert problem_text(p, "zh-CN") == "共 8 张图片；没有视频时 Kling 最多接受 7 张。请移除 1 张。"


def test_the_status_lines_and_the_cost_line() -> None:
    from kling_ui.core.models import Progress
    from kling_ui.ui.common import progress_html, status_text

    for status, zh in (("starting", "正在启动"), ("processing", "正在生成"), ("succeeded", "已完成"),
                       ("failed", "失败"), ("canceled", "已取消")):
        token = _with_request(ZH_HEADER)
        try:
            assert status_text(status) == zh
        finally:
            _reset(token)
    token = _with_request(ZH_HEADER)
    try:
        assert "排队中" in progress_html(None, 1.0)
        assert "正在上传输入" in progress_html(Progress(stage="uploading"), 1.0)
        assert 'data-title="✓ 已完成"' in progress_html(Progress(stage="done"), 1.0, state="done")
    finally:
        _reset(token)
    assert "Queued" in progress_html(None, 1.0)
    line = "Estimated cost ≈ $0.56 (5 s × $0.112/s, pro)"
    assert cost_text(line, "zh-CN") == "预计费用 ≈ $0.56（5 秒 × $0.112/秒，pro）"
    assert cost_text(line, "en") == line
    assert cost_text("Estimated cost: fix the files first", "zh-CN") == "预计费用：请先修复文件"


def _with_request(header: str) -> Any:
    from gradio.context import LocalContext

    return LocalContext.request.set(_request(header))


def _reset(token: Any) -> None:
    from gradio.context import LocalContext

    LocalContext.request.reset(token)


def test_the_common_errors_in_chinese_and_english_unchanged() -> None:
    cases = [
        (AuthError("Replicate did not accept the API key.", status=401), "不接受此 API 密钥"),
        (RateLimitError("throttled", status=429, retry_after=2.2), "请在 3 秒后重试"),
        (RateLimitError("throttled", status=429), "速率限制"),
        (KlingConnectionError("create: could not reach the server"), "无法连接服务器"),
        (KlingTimeoutError("create: the server did not answer in time"), "未能及时响应"),
        (ServerError("Replicate had a server error (503).", status=503), "服务器出错（503）"),
    ]
    for exc, zh in cases:
        assert zh in error_text(exc, "zh-CN")
        assert error_text(exc, "en") == exc.message
    problems = validate(job(Tab.FRAMES, prompt=""))
    exc = InputError.from_problems(problems)
    text = error_text(exc, "zh-CN")
    assert text.startswith("运行前请先解决以下 2 个问题：") and "首帧：首尾帧模式需要首帧" in text
    assert error_text(exc, "en") == exc.message and exc.message.startswith("Please fix these 2")


def test_the_probers_messages_are_matched_and_translated(tmp_path: Path) -> None:
    """Messages from modules without message ids are matched by their English template: if the
    prober's wording changes, this test says the Chinese no longer follows."""
    from kling_ui.core.models import Problem
    from kling_ui.media.probe import probe_image

    fake = tmp_path / "fake.png"
    fake.write_text("<html>not an image</html>\n", encoding="utf-8")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path in (fake, empty):
        with pytest.raises(InputError) as err:
            probe_image(str(path))
        zh = i18n.from_english(err.value.message, "zh-CN")
        assert HAN.search(zh) and "Upload" not in zh, zh
        assert i18n.from_english(err.value.message, "en") == err.value.message
        # As the service reports it: a Problem without an id still shows in Chinese.
        assert problem_text(Problem("start_image", err.value.message), "zh-CN") == zh
    assert i18n.from_english("Something nobody catalogued.", "zh-CN") == (
        "Something nobody catalogued.")


def test_the_api_stays_in_english_whatever_the_caller_accepts() -> None:
    """A public endpoint's event answers in English even for a zh-CN Accept-Language."""
    from gradio.context import LocalContext

    event = SimpleNamespace(fn=SimpleNamespace(api_visibility="public"))
    blocks = SimpleNamespace(_queue=SimpleNamespace(event_ids_to_events={"e1": event}))
    tokens = [LocalContext.request.set(_request(ZH_HEADER)), LocalContext.blocks.set(blocks),
              LocalContext.event_id.set("e1")]
    try:
        assert i18n.current_lang() == "en"
        event.fn.api_visibility = "private"  # the page's own events follow the visitor
        assert i18n.current_lang() == "zh-CN"
    finally:
        LocalContext.event_id.reset(tokens[2])
        LocalContext.blocks.reset(tokens[1])  # type: ignore[arg-type]
        LocalContext.request.reset(tokens[0])


# -- in the browser -------------------------------------------------------------------------------

pytest_browser = pytest.mark.browser
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    with launched_app(sim_seconds=0.3) as launched:
        yield launched


def _page(browser: Browser, url: str, locale: str, size: str) -> Page:
    w, h = SIZES[size]
    page = browser.new_context(locale=locale, viewport={"width": w, "height": h},
                               is_mobile=w < 500).new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    # The machine is shared: the first load can be slow (nothing here measures time).
    expect(page.locator("#prompt-text textarea")).to_be_visible(timeout=120_000)
    return page


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("KLING_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), timeout=60_000)


@pytest_browser
@pytest.mark.parametrize("size", list(SIZES))
def test_a_chinese_browser_gets_the_page_in_chinese(browser: Browser, app: LaunchedApp,
                                                    size: str) -> None:
    page = _page(browser, app.url, "zh-CN", size)
    try:
        tabs = page.get_by_role("tab")
        for name in ("文生视频", "首尾帧", "参考图", "视频参考", "视频编辑", "作品库"):
            expect(tabs.filter(has_text=name)).to_have_count(1)
        expect(page.locator("#text-run")).to_have_text("运行")
        expect(page.locator("#text-cancel")).to_have_text("取消")
        expect(page.locator("#tab-text")).to_contain_text("提示词")
        # The checks on load, rendered by Python for this request's Accept-Language.
        checks = page.locator("#text-checks")
        expect(checks).to_contain_text("提示词为空。请描述你想要的视频。", timeout=60_000)
        expect(checks).to_contain_text("请先解决以下问题才能运行")
        expect(page.locator("#text-cost")).to_contain_text("预计费用", timeout=60_000)
        expect(page.locator("#text-run")).to_be_disabled()
        _shot(page, f"i18n-zh-{size}")
        # Another tab: its own check, in Chinese too.
        page.get_by_role("tab", name="首尾帧", exact=True).click()
        page.locator("#prompt-frames textarea").fill("海边的日出")
        expect(page.locator("#frames-checks")).to_contain_text("首尾帧模式需要首帧",
                                                               timeout=60_000)
        expect(page.locator("#frames-checks")).not_to_contain_text("提示词为空")
        expect(page.locator("body")).not_to_contain_text("The prompt is empty")
    finally:
        page.context.close()


@pytest_browser
def test_an_english_browser_gets_the_page_in_english(browser: Browser, app: LaunchedApp) -> None:
    page = _page(browser, app.url, "en-US", "desktop")
    try:
        tabs = page.get_by_role("tab")
        for name in ("Text to video", "Frames to video", "References to video",
                     "Video reference", "Edit video", "Library"):
            expect(tabs.filter(has_text=name)).to_have_count(1)
        expect(page.locator("#text-run")).to_have_text("Run")
        checks = page.locator("#text-checks")
        expect(checks).to_contain_text("The prompt is empty. Describe the video you want.",
                                       timeout=60_000)
        expect(checks).to_contain_text("Run is off until this is fixed")
        expect(page.locator("#text-cost")).to_contain_text("Estimated cost", timeout=60_000)
        expect(page.locator("body")).not_to_contain_text("运行")
    finally:
        page.context.close()


def test_an_api_caller_asking_for_chinese_still_gets_english(app: LaunchedApp) -> None:
    """End to end: a public endpoint's error is English whatever Accept-Language says."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app.url, verbose=False, headers={"Accept-Language": ZH_HEADER})
    with pytest.raises(AppError) as info:
        client.predict(prompt="", api_name="/text_to_video")
    message = str(info.value)
    assert "The prompt is empty" in message and not HAN.search(message), message


def test_a_word_inside_an_english_message_is_translated_too() -> None:
    """The outside look found "这个文件不是图片（看起来是 text）": the kind was left in English."""
    from kling_ui.i18n import from_english

    zh = from_english("This file is not an image (it looks like text). Upload a JPEG or PNG.",
                      "zh-CN")
    assert "文本" in zh and "text" not in zh, zh
    assert "PDF 文档" in from_english("This file is a PDF document, not an image. Upload a "
                                     "JPEG or PNG.", "zh-CN")


def test_the_models_own_log_line_is_named_as_such_in_chinese() -> None:
    from kling_ui.core.models import Progress
    from kling_ui.ui.common import progress_html

    line = Progress(stage="processing", log_line="Generating frames 20%", status="processing")
    token = _with_request(ZH_HEADER)
    try:
        html = progress_html(line, 3.0)
    finally:
        _reset(token)
    assert "模型日志：" in html and '<span lang="en">Generating frames 20%</span>' in html
    english = progress_html(line, 3.0)
    assert "Model log" not in english and "Generating frames 20%" in english
