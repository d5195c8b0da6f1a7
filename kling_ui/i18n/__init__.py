"""English and Simplified Chinese (zh-CN): one catalogue for every string a visitor reads.

Two ways a string reaches the page, both from the catalogues below:

- Static labels (tab names, buttons, a textbox's label/info/placeholder, Markdown) go through
  Gradio's own `gr.I18n`: `i18n("run")` marks the key, `gradio_i18n()` (passed to `launch(i18n=)`)
  carries the translations, and the browser picks them by its own language (navigator.language).
- HTML that Python renders per request (checks, upload cards, status, cost, compare captions,
  errors) is translated on the server: `t(key, lang, **fields)`, the language taken from the
  request's `Accept-Language` header (`lang_of`, `current_lang`) or the `Session` (set on load).

The rules core does not format its messages as free text any more: each `Problem` carries a
`Msg` (message id + fields) beside its English `message`. Why ids and not a catalogue keyed by the
English text: a rewording of the English never silently drops the translation (the id stays), the
numbers stay numbers (each language formats them itself, `{mb:.1f}`), sub-phrases that change with
the input ("with a video", "there is 1 image") are their own ids rather than pieces of English
glued into a sentence, and tests/test_i18n.py can check that every id exists in both languages
with the same fields. The English rendering is done once, when the Problem is made, so the API,
logs and every existing caller keep reading `Problem.message` in English.

This module is pure (no gradio import at module level): the rules core imports it.
May import: `kling_ui.core` (errors and `Problem`, inside the functions that render them) and the
standard library. Never media, hosting, the library, replicate, runs or the UI.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EN_LANG = "en"
ZH_LANG = "zh-CN"
LANGS = (EN_LANG, ZH_LANG)


@dataclass(frozen=True)
class Msg:
    """A message by id with its fields; a field may itself be a `Msg` or a tuple of them
    (joined with the language's list separator), so sub-phrases are translated too."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def render(self, lang: str = EN_LANG) -> str:
        return t(self.key, lang, **self.params)


# ------------------------------------------------------------------------------------------------
# The catalogues. Keys without `{fields}` may also go to the browser (gr.I18n); keys with fields
# are rendered on the server only. Keep each pair side by side when adding one.
# ------------------------------------------------------------------------------------------------

EN: dict[str, str] = {
    # -- page (client-side) --
    "page.intro": "Try every input mode of Kling O1 (kwaivgi/kling-o1 on Replicate): checks "
                  "before you pay, the result beside the original, every run kept in your "
                  "library.",
    "key.accordion": "Use your own Replicate key",
    "key.help": "Kept in this browser session only, on the server; never shown again or saved. "
                "Clear it with *Forget*. API callers can send the `X-Replicate-Api-Token` "
                "header instead.",
    "key.label": "Replicate API token",
    "key.use": "Use for this session",
    "key.forget": "Forget",
    "tab.text": "Text to video",
    "tab.frames": "Frames to video",
    "tab.references": "References to video",
    "tab.feature": "Video reference",
    "tab.edit": "Edit video",
    "tab.library": "Library",
    "intro.text": "Describe a video; Kling O1 makes it from text alone.",
    "intro.frames": "Animate from a start frame (and optionally land on an end frame). The "
                    "output takes the start frame's shape, so there is no aspect ratio to pick.",
    "intro.references": "Give 1-7 reference images (people, objects, places) and say what they "
                        "do.",
    "intro.feature": "Use a 3-10 s clip as a reference for style or camera movement, or ask for "
                     "the next or previous shot. Any phone clip up to 200 MB works: longer, "
                     "larger or HEVC clips are trimmed and re-encoded before upload.",
    "intro.edit": "Edit a 3-10 s clip with words and up to 4 images. The output keeps the "
                  "clip's length and shape. Any phone clip up to 200 MB works: longer, larger "
                  "or HEVC clips are trimmed and re-encoded before upload.",
    "presets": "**Presets:**",
    "video.edit": "Video to edit",
    "video.reference": "Reference video (3-10 s)",
    "trim.start": "Trim: start (s)",
    "trim.length": "Trim: length (s)",
    "start_frame": "Start frame",
    "start_frame.optional": "Start frame (optional)",
    "end_frame.optional": "End frame (optional)",
    "refs.label7": "Reference images (up to 7, JPG or PNG)",
    "refs.label4": "Reference images (up to 4, JPG or PNG)",
    "prompt": "Prompt",
    "prompt.placeholder": "Describe the video. Click a token chip to refer to an upload.",
    "prompt.placeholder.text": "Describe the video: who or what, what happens, the camera, the light.",
    "aspect_ratio": "Aspect ratio of the output",
    "duration": "Duration (s)",
    "quality": "Quality",
    "quality.info": "std = 720p, pro = 1080p",
    "takes": "Takes",
    "takes.info": "runs at once; each differs",
    "keep_sound": "Keep original sound",
    "aspect_fix": "When an image is too wide or tall",
    "aspect_fix.info": "pad keeps all of it; crop fills the frame",
    "edit.no_duration": "The output follows the clip's length: no duration to pick.",
    "run": "Run",
    "cancel": "Cancel",
    "fix": "Fix",
    "download_output": "Download output",
    "summary": "Summary (as the API returns it)",
    "copy_code": "Copy as code",
    "fix.done": "Fixed: {what}",
    "fix.nothing": "Nothing left to fix.",
    # -- continue / sequence (client-side) --
    "next_shot": "Next shot",
    "edit_this": "Edit this",
    "frame_at": "Frame at (s)",
    "frame_at.info": "starts on the last frame",
    "frame_back": "◀ 1 frame",
    "frame_next": "1 frame ▶",
    "frame_target": "Use the frame as",
    "frame_target.frames": "Frames tab: start frame",
    "frame_target.frames_end": "Frames tab: end frame",
    "frame_target.references": "References tab: reference image",
    "use_frame": "Use this frame",
    "seq.accordion": "Join runs into a sequence",
    "seq.picks": "Runs to join",
    "seq.picks.info": "Pick finished runs; reorder them below.",
    "seq.crossfade": "Crossfade (s)",
    "seq.crossfade.info": "0: hard cuts",
    "seq.join": "Join into a sequence",
    "cont.no_video": "This run has no video to continue from. Pick a finished run.",
    "cont.filled": "{what} is in {tab}; press Run there.",
    "cont.the_clip": "The clip",
    "cont.frame": "Frame {index} ({time:.2f} s)",
    "cont.story": "Story:",
    "cont.this_run": "(this run)",
    "cont.pick_two": "Pick at least two finished runs to join, in playing order.",
    "cont.joined": "Joined {n} runs ({secs:.1f} s); it is in your library.",
    # -- finishing (client-side) --
    "finish.plot": "Motion: original vs output",
    "finish.splice_audio": "Sound inside the window",
    "finish.splice": "Splice back into the full clip",
    "finish.splice_file": "Spliced clip",
    "finish.layout": "Comparison layout",
    "finish.audio": "Comparison sound",
    "finish.export": "Export comparison",
    "finish.export_file": "Comparison MP4",
    "finish.stills": "Before / after stills",
    "label.original": "Original",
    "label.original_clip": "Original clip",
    "label.start_frame": "Start frame",
    "label.reference_image_1": "Reference image 1",
    "label.full_clip": "Original (full clip)",
    "finish.no_motion": "No motion report for this run.",
    "finish.not_cut": "This run was not cut from a longer clip: there is nothing to splice it "
                      "back into.",
    "finish.spliced": "Spliced: the edit at {start:.1f}-{end:.1f} s",
    "finish.run_first": "Run a job first: there is nothing to compare yet.",
    "finish.score": "**Motion kept: {score:.2f}** (1 = the same motion, frame by frame)",
    "finish.offset": "- time offset: {offset:+.2f} s{sound}",
    "finish.sound": "; sound {audio:+.2f} s",
    "finish.drift": "- drift: {spans}",
    "finish.drift_none": "none",
    "finish.frames": "- frames at 24 fps: {original} original, {output} output ({dur_original:.2f} "
                     "s vs {dur_output:.2f} s)",
    # -- library (client-side) --
    "lib.mode": "Mode",
    "lib.status": "Status",
    "lib.search": "Search prompts",
    "lib.search.placeholder": "crown, fox…",
    "lib.runs": "Runs",
    "lib.all_modes": "All modes",
    "lib.any_status": "Any status",
    "lib.running": "Running",
    "lib.done": "Done",
    "lib.ended": "Failed or canceled",
    "lib.restore": "Restore into its tab",
    "lib.download": "Download video",
    "lib.export": "Export zip",
    "lib.delete": "Delete",
    "lib.confirm_delete": "Delete this run for good",
    "lib.export_file": "Export (video, inputs, settings.json)",
    "lib.from_file": "Restore from a video file",
    "lib.from_file.help": "Every video the Studio saves carries its settings inside it. Drop "
                          "one here to restore them into their tab.",
    "lib.drop": "A video made by the Studio (MP4)",
    "lib.runs_one": "**1 run**",
    "lib.runs_n": "**{n} runs**",
    "lib.n_running": " · {n} running",
    "lib.spend": " · estimated spend on Replicate today ${today:.2f} · in all ${total:.2f}",
    "lib.n_simulated": " · {n} simulated (not billed)",
    "lib.newest": " · showing the newest {n}",
    "lib.no_match": "No runs match these filters.",
    "lib.empty": "Nothing here yet: every run you make is kept here, with its inputs and "
                 "settings, until you delete it.",
    "lib.cost": "${usd:.2f} estimated",
    "lib.cost_sim": " (simulated: nothing billed)",
    "lib.prompt": "prompt:",
    "lib.restored_run": "Restored the run of {when}",
    "lib.restored_video": "Restored the settings kept in that video",
    "lib.restored_into": "{what} into {tab}.",
    "lib.deleted": "Deleted the run and its files.",
    # -- server-rendered: checks, cards, status --
    "notify": "Notify me when a run ends",
    "checks.first.text": "Run starts once you write a prompt.",
    "checks.first.frames": "Run starts once you write a prompt and add a start frame.",
    "checks.first.references": "Run starts once you write a prompt and add reference images.",
    "checks.first.clip": "Run starts once you write a prompt and add a clip.",
    "checks.checking_video": "⏳ Checking the video… Run waits until its card is ready.",
    "checks.ready": "✓ Ready to run.",
    "checks.off_one": "✗ Run is off until this is fixed:",
    "checks.off_many": "✗ Run is off until these {n} are fixed:",
    "checks.ready_fix": "✓ Ready: Run fixes what is marked below first.",
    "checks.sent_as": "Will be sent as:",
    "checks.fix_available": "Fix available",
    "counter": "{typed} characters typed · {sent} as sent (limit {limit})",
    "chips.empty": "Upload an image or video to get its token chip here.",
    "chips.hint": "Click to insert at the cursor:",
    "chip.title": "Insert {token} ({what}) at the cursor",
    "chip.title_plain": "Insert {token}",
    "slot.start_image": "start frame",
    "slot.end_image": "end frame",
    "slot.reference_image": "reference image {n}",
    "slot.video": "video",
    "card.trim_note": "Drag the window on the filmstrip (or type exact times below it) to pick "
                      "the 3-10 s that are sent; Run cuts it before upload.",
    "player.making": "⏳ Making a preview your browser can play (the clip itself is fine: Kling "
                     "gets the original)…",
    "player.whole": "Preview of the chosen window (360p); Kling gets the original.",
    "player.first": "⏳ The first seconds of the window; the rest of the preview is on its way…",
    "player.poster_alt": "A frame from the middle of the clip",
    "player.label": "Preview of the clip",
    # status
    "stage.queued": "Queued",
    "stage.checking": "Checking inputs",
    "stage.fixing": "Fixing inputs",
    "stage.uploading": "Uploading files",
    "stage.starting": "Starting",
    "stage.processing": "Generating",
    "stage.downloading": "Downloading the output",
    "stage.done": "Done",
    "status.preparing": "Uploading inputs",
    "status.waiting_for_key": "Waiting for your key",
    "status.waiting_for_disk": "Waiting for disk space",
    "status.failed": "Failed",
    "status.canceled": "Canceled",
    "status.aborted": "Aborted",
    "status.timed_out": "Timed out",
    "status.lost": "Lost",
    "status.checking_inputs": "Checking your inputs",
    "status.still_running": ("This tab's run is still going; Run starts another once it ends. "
                             "For several at once, choose Takes."),
    "status.canceling": "Canceling… waiting for Replicate to confirm the prediction stopped.",
    "status.canceled_stopped": "Canceled: the prediction was stopped.",
    "status.failed_msg": "Failed: {message}",
    "status.not_run": "Not run. {message}",
    "status.failed_unexpected": "Failed: an unexpected error.",
    "status.gone": "This run is gone.",
    "status.replicate": "Replicate: {status}",
    "status.replicate_status": "Replicate status:",
    "status.prediction": "prediction",
    "title.done": "✓ Done",
    "title.failed": "✗ Failed",
    "title.canceled": "Canceled",
    "title.canceling": "Canceling…",
    "title.in_line_next": "In line: next",
    "title.in_line": "In line: {n} ahead",
    "title.running_pct": "Running {pct}%",
    "title.running": "Running",
    # cost
    "cost.estimate": "Estimated cost ≈ ${usd:.2f} ({secs} s × ${rate:.3f}/s, {mode})",
    "cost.needs_video": "Estimated cost: upload a video to see it",
    "cost.fix_files": "Estimated cost: fix the files first",
    # facts
    "facts.fact": "Fact",
    "facts.original": "Original",
    "facts.output": "Output",
    "facts.duration": "Duration",
    "facts.size": "Size",
    "facts.fps": "Frame rate",
    "facts.audio": "Audio",
    "facts.still": "still image",
    "facts.yes": "yes",
    "facts.no": "no",
    "facts.model_time": "model time {secs:.1f} s",
    "facts.cost": "estimated cost ${usd:.2f}",
    "facts.fixes": "Fixes applied:",
    "facts.warnings": "Warnings:",
    # compare
    "compare.empty": "Your result plays here, beside the original when there is one, after a "
                     "run.",
    "compare.output": "Kling O1 output",
    # Shown over the output while the tab's status is not Done (studio.css).
    "compare.earlier": "From your last finished run, not this one",
    "compare.none": "{label}: none (text only)",
    "compare.play": "▶ Play",
    "compare.play_both": "▶ Play both",
    "compare.seek": "Seek",
    "compare.seek_both": "Seek both",
    "compare.wipe": "A/B wipe",
    "compare.wipe_pos": "Wipe position",
    # key box
    "key.paste_first": "Paste a key first.",
    "key.refused": "✗ Replicate refused this key (401), so it is not used. Copy it again from "
                   "replicate.com/account/api-tokens.",
    "key.unchecked": "Your key is in use; Replicate could not be reached to check it just now, "
                     "so it will be checked when you run.",
    "key.using_name": "Using your key (@{name}).",
    "key.using": "Using your key.",
    "key.resumed_one": " It fetches 1 run that waited for it; see the Library.",
    "key.resumed_many": " It fetches {n} runs that waited for it; see the Library.",
    "key.forgotten": "Your key is forgotten.",
    "login.throttled": ("Too many wrong passwords from your address. Wait {secs} s, then try "
                        "again with the password the host gave you."),
    "banner.simulator": "Offline simulator: no Replicate key is set, so outputs are simulated "
                        "locally (stamped SIMULATED) and nothing is billed. Enter your own key to "
                        "run the real model.",
    "banner.own_key": "Running on Replicate with your own key; it stays in this browser session "
                      "only.",
    "banner.host_key": "Running on Replicate with the host's key. Limits may apply; your own key "
                       "lifts them.",
    # errors
    "error.generic": "Something went wrong inside the Studio. Your inputs are kept; please try "
                     "again, and if it happens again tell the host (the details are in the "
                     "server log).",
    "error.title.generic": "Unexpected error",
    "error.title": "Problem",
    "error.title.Input": "Input problem",
    "error.title.Auth": "Auth problem",
    "error.title.RateLimit": "RateLimit problem",
    "error.title.Connection": "Connection problem",
    "error.title.Timeout": "Timeout problem",
    "error.title.Access": "Access problem",
    "error.title.Server": "Server problem",
    "error.title.Prediction": "Prediction problem",
    "error.title.Storage": "Disk space",
    # kling_ui.hosting.disk's messages (matched by from_english)
    "disk.low": "The server is almost out of disk space ({free} MB free; a run needs {need} MB), "
                "so this run was not started and nothing was billed. Your files are kept: try "
                "again in a few minutes, or tell the host.",
    "disk.waiting": "Waiting for disk space: the output is paid for and will be saved as soon as "
                    "there is room.",
    "disk.expired": "The output expired before there was disk space to save it: Replicate "
                    "deletes outputs about an hour after a run ends. Run it again.",
    "error.fix_one": "Please fix this before running:",
    "error.fix_many": "Please fix these {n} things before running:",
    "error.auth": "Replicate did not accept the API key. Check REPLICATE_API_TOKEN or the key "
                  "you pasted.",
    "error.billing": "This Replicate account does not have enough credit to run Kling O1. Buy "
                     "credit, then wait a few minutes before trying again.",
    "error.rate_limit": "Replicate is throttling requests on this key (rate limit).",
    "error.rate_limit_wait": "Replicate is throttling requests on this key (rate limit). Try "
                             "again in {secs} s.",
    "error.connection": "Could not reach the server, or it dropped the connection. Check your "
                        "connection and try again.",
    "error.timeout": "The server did not answer in time. Check your connection and try again.",
    "error.server": "Replicate had a server error ({status}). This is usually brief; try again "
                    "in a minute.",
    "error.too_large": "The file is too large for Replicate (files must be under 100 MB).",
    "error.not_in_library": "That run is not in your library (it may have been deleted).",
    # the edge: what a raw caller sent that the Studio refuses (kling_ui/ui/edge.py, issue #20)
    "edge.not_yours": "That file is not one you uploaded here; upload it again.",
    "edge.a_field": "this field",
    "edge.not_text": "{field} takes text (a string), not a list, a number or an object.",
    "edge.not_number": "{field} takes a number.",
    "edge.not_bool": "{field} takes true or false.",
    "edge.not_choice": "{field} takes one of its choices, as text or a number.",
    "edge.unreadable": "The Studio could not read what was sent. Reload the page and try again.",
    # fields named in problems
    "field.prompt": "prompt",
    "field.start_image": "start_image",
    "field.end_image": "end_image",
    "field.reference_images": "reference_images",
    "field.reference_image_n": "reference_images[{n}]",
    "field.reference_video": "reference_video",
    "field.duration": "duration",
    "field.aspect_ratio": "aspect_ratio",
    "field.mode": "mode",
    "field.tab": "tab",
    "field.file": "file",
    # Messages from the service's own modules (probe, access), matched by their English text
    # (from_english): fields here hold text, so no format specs in either language.
    "probe.empty_image": "This file is empty. Upload a JPEG or PNG image.",
    "probe.video_not_image": "This file is a video, not an image. Upload it as the reference "
                             "video, or upload a JPEG or PNG image here.",
    "probe.looks_like": "This file is not an image (it looks like {kind}). Upload a JPEG or PNG.",
    "probe.kind_not_image": "This file is a {kind}, not an image. Upload a JPEG or PNG.",
    "probe.unreadable_image": "This file is not an image Kling or this app can read. Upload a "
                              "JPEG or PNG.",
    "probe.unreadable": "This file could not be read; upload it again.",
    "probe.empty": "This file is empty. Upload {wanted}.",
    "access.hourly": "This demo allows {n} runs per visitor per hour on the host's key. Try again "
                     "in about {wait} min, or enter your own Replicate API key to run without "
                     "this limit.",
    "access.hourly_user": "This demo allows {n} runs per signed-in user per hour on the host's "
                          "key. Try again in about {wait} min, or enter your own Replicate API "
                          "key to run without this limit.",
    "access.daily": "This demo allows {n} runs per visitor per day on the host's key, and "
                    "today's are used. They reset at midnight UTC; or enter your own Replicate "
                    "API key to run without this limit.",
    "access.daily_user": "This demo allows {n} runs per signed-in user per day on the host's "
                         "key, and today's are used. They reset at midnight UTC; or enter your "
                         "own Replicate API key to run without this limit.",
    "access.sign_in": "Sign in with Hugging Face to run on the host's key (or use your own key).",
    "access.sign_in_api": "Sign in with Hugging Face to run on the host's key (or use your own "
                          "key). API callers: send your own key in the X-Replicate-Api-Token "
                          "header.",
    "meter.runs_hour": "{left} of {total} runs left this hour",
    "meter.next_in": " (next in about {mins} min)",
    "meter.runs_day": "{left} of {total} runs left today",
    "meter.budget": "${left:.2f} of ${total:.2f} left today",
    "meter.no_limits": "no limits on the host's key",
    "meter.title": "What is left on the host's key; your own key has no such limits.",
    "access.budget": "Today's budget for this demo is used up (${left} of ${budget} left; this "
                     "run is estimated at ${cost}). It resets at midnight UTC; or enter your own "
                     "Replicate API key.",
    # -- cheap refusals and the media pool (kling_ui/hosting/bounds.py, issue #20) --
    "access.media_busy": "You already have {n} files waiting to be checked or converted. Wait "
                         "for them to finish, then try again.",
    "bounds.prompt_type": "The prompt must be text.",
    "bounds.file_gone": "This file is no longer on the server (it was cleared after a restart or "
                        "by the cache sweep). Upload it again.",
    "bounds.file_too_big": "is {mb} MB; the Studio takes files up to {limit} MB. Use a smaller "
                           "file.",
    "gate.too_many_files": "This request holds more than {limit} files; no Studio endpoint takes "
                           "that many (at most 7 reference images, 20 clips to join). Send fewer.",
    "gate.too_big": "This request is larger than {mb} MB. Upload files with /gradio_api/upload "
                    "and send their paths, not their contents.",
    # -- the rules core (kling_ui/core/rules.py) --
    "list.sep": ", ",
    "rules.image.animated": "is animated ({frames} frames); Kling takes a still image. Fix uses "
                            "the first frame.",
    "rules.image.format": "is {format}; Kling accepts JPEG or PNG. Fix converts it.",
    "rules.image.mode": "uses {mode} colour; Kling expects 8-bit RGB. Fix converts it.",
    "rules.image.rotated": "is stored rotated (EXIF orientation); Fix turns the pixels upright "
                           "so Kling sees what you see.",
    "rules.image.metadata": "carries metadata (EXIF/XMP/text: camera, location, comments); it "
                            "is removed before upload.",
    "rules.image.too_big": "is {mb:.1f} MB; Kling accepts up to 10 MB. Fix recompresses it.",
    "rules.image.too_small": "is {width}x{height} px; each side must be at least {min_side} px. "
                             "Fix upscales it (it may look soft), or use a larger image.",
    "rules.image.aspect": "has aspect ratio {ratio:.2f}:1; Kling accepts 1:2.5 to 2.5:1. Fix "
                          "pads or centre-crops it.",
    "rules.video.format": "is {container} / {codec}; Kling accepts MP4 or MOV video. Fix "
                          "re-encodes it to H.264 MP4.",
    "rules.video.too_short": "is {duration:.2f} s; Kling needs at least 3 s. Use a longer clip "
                             "(a short clip cannot be fixed without inventing frames).",
    "rules.video.too_long": "is {duration:.1f} s; Kling accepts 3-10 s. Pick a window with the "
                            "trim slider.",
    "rules.video.tiny": "is {width}x{height} px, too small to be a real video. Use another clip.",
    "rules.video.size": "is {width}x{height} px; each side must be {min_side}-{max_side} px. Fix "
                        "scales it, keeping its shape.",
    "rules.video.fps": "runs at {fps:.2f} fps; Kling accepts 24-60 fps. Fix converts the frame "
                       "rate.",
    "rules.video.vfr": "has a variable frame rate; Kling may misjudge its timing. Fix makes it "
                       "constant.",
    "rules.video.too_big": "is {mb:.1f} MB; files must be under {limit}. Fix re-encodes it "
                           "smaller at good quality.",
    "rules.limit.kling": "200 MB (Kling)",
    "rules.limit.upload": "{size} (Replicate upload)",
    "rules.text.no_media": "Text to video takes no images or video; use another tab for those.",
    "rules.frames.need_start": "Frames to video needs a start frame. Upload one.",
    "rules.references.need_image": "References to video needs at least one reference image. "
                                   "Upload one to seven.",
    "rules.video.needed": "This tab needs a video. Upload an MP4 or MOV of 3-10 s.",
    "rules.video.not_here": "Only the Video reference and Edit video tabs take a video.",
    "rules.end.needs_start": "An end frame needs a start frame. Upload a start frame too, or "
                             "remove the end frame.",
    "rules.end.too_many": "An end frame cannot be combined with more than {limit} images in "
                          "total; you have {n}. Remove the reference images or the end frame.",
    "rules.edit.no_frames": "Start/end frames cannot be combined with video editing. Remove "
                            "them, or use the Video reference tab.",
    "rules.images.too_many": "{n} images; Kling takes at most {limit} {with_}. Remove {extra}.",
    "rules.with_video": "with a video",
    "rules.without_video": "without a video",
    "rules.mode": "Mode must be std or pro, got {value}.",
    "rules.aspect_ratio": "Aspect ratio must be one of {ratios}.",
    "rules.duration": "Duration must be {allowed} seconds in this tab, got {value}.",
    "rules.duration.plain": "5 or 10",
    "rules.duration.any": "3 to 10",
    "rules.prompt.empty": "The prompt is empty. Describe the video you want.",
    "rules.prompt.too_long": "The prompt is {size}; Kling accepts up to {limit}. Shorten it by "
                             "{over}.",
    "rules.prompt.size": "{sent} characters",
    "rules.prompt.size_sent": "{typed} characters typed but {sent} as sent (references such as "
                              "@Image1 are sent as <<<image_1>>>)",
    # -- token checks (kling_ui/core/prompt.py) --
    "tokens.rewritten": "references will be sent as Kling writes them: {listed}{more}.",
    "tokens.as": "{typed} as {sent}",
    "tokens.more": " and {n} more",
    "tokens.spaced": "has “{token}” with spaces between the brackets; it is sent as typed and "
                     "Kling will not read it as a reference. Click a token chip to insert one.",
    "tokens.no_image": "{token} points at no image: {have}. Remove the token or upload the "
                       "image.",
    "tokens.have_n": "there are {n} images",
    "tokens.have_1": "there is 1 image",
    "tokens.have_none": "no images are uploaded",
    "tokens.no_video": "{token} points at no video: {what}. Remove the token or upload the "
                       "video.",
    "tokens.no_video_uploaded": "no video is uploaded",
    "tokens.only_video_1": "there is only <<<video_1>>>",
    "tokens.unused_image": "never mentions {token}; Kling may ignore that image. Click its chip "
                           "to insert it.",
    "tokens.unused_video": "never mentions {token}; say what to do with the video.",
}

ZH: dict[str, str] = {
    "page.intro": "体验 Kling O1（Replicate 上的 kwaivgi/kling-o1）的全部输入模式：付费前先检查，"
                  "结果与原片并排对比，每次生成都保存在你的作品库中。",
    "key.accordion": "使用你自己的 Replicate 密钥",
    "key.help": "仅在本次浏览器会话中保存在服务器上，不会再次显示，也不会存盘。点击“*忘记*”即可清除。"
                "API 调用方也可以改为发送 `X-Replicate-Api-Token` 请求头。",
    "key.label": "Replicate API 令牌",
    "key.use": "在本次会话中使用",
    "key.forget": "忘记",
    "tab.text": "文生视频",
    "tab.frames": "首尾帧",
    "tab.references": "参考图",
    "tab.feature": "视频参考",
    "tab.edit": "视频编辑",
    "tab.library": "作品库",
    "intro.text": "描述一段视频，Kling O1 仅凭文字即可生成。",
    "intro.frames": "从首帧开始生成动画（可选：以尾帧收尾）。输出沿用首帧的画面比例，因此无需选择宽高比。",
    "intro.references": "提供 1-7 张参考图（人物、物体、场景），并描述它们要做什么。",
    "intro.feature": "用一段 3-10 秒的视频作为风格或运镜参考，或者生成它的下一个或上一个镜头。"
                     "手机拍摄的任何 200 MB 以内的视频都可以：过长、过大或 HEVC 编码的视频会在上传前"
                     "自动裁剪并重新编码。",
    "intro.edit": "用文字和最多 4 张图片编辑一段 3-10 秒的视频。输出保持原视频的时长和画面比例。"
                  "手机拍摄的任何 200 MB 以内的视频都可以：过长、过大或 HEVC 编码的视频会在上传前"
                  "自动裁剪并重新编码。",
    "presets": "**预设：**",
    "video.edit": "要编辑的视频",
    "video.reference": "参考视频（3-10 秒）",
    "trim.start": "裁剪：起点（秒）",
    "trim.length": "裁剪：时长（秒）",
    "start_frame": "首帧",
    "start_frame.optional": "首帧（可选）",
    "end_frame.optional": "尾帧（可选）",
    "refs.label7": "参考图（最多 7 张，JPG 或 PNG）",
    "refs.label4": "参考图（最多 4 张，JPG 或 PNG）",
    "prompt": "提示词",
    "prompt.placeholder": "描述你想要的视频。点击素材标签可在提示词中引用上传的素材。",
    "prompt.placeholder.text": "描述你想要的视频：主体、发生了什么、镜头和光线。",
    "aspect_ratio": "输出宽高比",
    "duration": "时长（秒）",
    "quality": "画质",
    "quality.info": "std = 720p，pro = 1080p",
    "takes": "条数",
    "takes.info": "同时生成，每条都不同",
    "keep_sound": "保留原声",
    "aspect_fix": "图片过宽或过高时",
    "aspect_fix.info": "pad 保留完整画面；crop 裁剪填满画面",
    "edit.no_duration": "输出时长与原视频一致，无需选择时长。",
    "run": "运行",
    "cancel": "取消",
    "fix": "修复",
    "download_output": "下载结果",
    "summary": "摘要（与 API 返回的一致）",
    "copy_code": "复制为代码",
    "fix.done": "已修复：{what}",
    "fix.nothing": "没有需要修复的问题了。",
    "next_shot": "下一个镜头",
    "edit_this": "编辑此视频",
    "frame_at": "取帧位置（秒）",
    "frame_at.info": "默认为最后一帧",
    "frame_back": "◀ 上一帧",
    "frame_next": "下一帧 ▶",
    "frame_target": "将此帧用作",
    "frame_target.frames": "首尾帧：首帧",
    "frame_target.frames_end": "首尾帧：尾帧",
    "frame_target.references": "参考图：参考图片",
    "use_frame": "使用此帧",
    "seq.accordion": "将多条生成记录拼接成序列",
    "seq.picks": "要拼接的生成记录",
    "seq.picks.info": "选择已完成的生成记录；可在下方调整顺序。",
    "seq.crossfade": "交叉淡化（秒）",
    "seq.crossfade.info": "0：直接切换",
    "seq.join": "拼接成序列",
    "cont.no_video": "这条记录没有可以接续的视频。请选择一条已完成的记录。",
    "cont.filled": "{what}已放入“{tab}”；请在那里点击运行。",
    "cont.the_clip": "该视频",
    "cont.frame": "第 {index} 帧（{time:.2f} 秒）",
    "cont.story": "故事线：",
    "cont.this_run": "（当前记录）",
    "cont.pick_two": "请按播放顺序至少选择两条已完成的记录进行拼接。",
    "cont.joined": "已拼接 {n} 条记录（{secs:.1f} 秒），已保存到作品库。",
    "finish.plot": "运动对比：原片与输出",
    "finish.splice_audio": "窗口内的声音",
    "finish.splice": "拼回完整视频",
    "finish.splice_file": "拼接后的视频",
    "finish.layout": "对比布局",
    "finish.audio": "对比视频的声音",
    "finish.export": "导出对比视频",
    "finish.export_file": "对比视频 MP4",
    "finish.stills": "前后对比静帧",
    "label.original": "原片",
    "label.original_clip": "原视频",
    "label.start_frame": "首帧",
    "label.reference_image_1": "参考图 1",
    "label.full_clip": "原片（完整视频）",
    "finish.no_motion": "此记录没有运动分析报告。",
    "finish.not_cut": "此记录并非从更长的视频中截取，没有可以拼回的完整视频。",
    "finish.spliced": "拼接结果：编辑片段位于 {start:.1f}-{end:.1f} 秒",
    "finish.run_first": "请先运行一次：目前还没有可对比的内容。",
    "finish.score": "**运动保持度：{score:.2f}**（1 = 逐帧运动完全一致）",
    "finish.offset": "- 时间偏移：{offset:+.2f} 秒{sound}",
    "finish.sound": "；声音 {audio:+.2f} 秒",
    "finish.drift": "- 偏离时段：{spans}",
    "finish.drift_none": "无",
    "finish.frames": "- 按 24 fps 计的帧数：原片 {original} 帧，输出 {output} 帧（{dur_original:.2f} 秒 对比 "
                     "{dur_output:.2f} 秒）",
    "lib.mode": "模式",
    "lib.status": "状态",
    "lib.search": "搜索提示词",
    "lib.search.placeholder": "皇冠、狐狸…",
    "lib.runs": "生成记录",
    "lib.all_modes": "全部模式",
    "lib.any_status": "全部状态",
    "lib.running": "进行中",
    "lib.done": "已完成",
    "lib.ended": "失败或已取消",
    "lib.restore": "恢复到对应标签页",
    "lib.download": "下载视频",
    "lib.export": "导出 zip",
    "lib.delete": "删除",
    "lib.confirm_delete": "永久删除此记录",
    "lib.export_file": "导出（视频、输入、settings.json）",
    "lib.from_file": "从视频文件恢复",
    "lib.from_file.help": "Studio 保存的每个视频都内嵌了生成设置。把视频拖到这里，即可将设置恢复到对应标签页。",
    "lib.drop": "由 Studio 生成的视频（MP4）",
    "lib.runs_one": "**1 条记录**",
    "lib.runs_n": "**{n} 条记录**",
    "lib.n_running": " · {n} 条进行中",
    "lib.spend": " · 今日在 Replicate 的预计花费 ${today:.2f} · 累计 ${total:.2f}",
    "lib.n_simulated": " · {n} 条为模拟（不计费）",
    "lib.newest": " · 仅显示最新的 {n} 条",
    "lib.no_match": "没有符合筛选条件的记录。",
    "lib.empty": "这里还没有内容：你的每次生成都会连同输入和设置保存在这里，直到你删除为止。",
    "lib.cost": "预计 ${usd:.2f}",
    "lib.cost_sim": "（模拟：未计费）",
    "lib.prompt": "提示词：",
    "lib.restored_run": "已恢复 {when} 的生成记录",
    "lib.restored_video": "已恢复该视频中保存的设置",
    "lib.restored_into": "{what}到“{tab}”。",
    "lib.deleted": "已删除该记录及其文件。",
    "notify": "生成结束时通知我",
    "checks.first.text": "写好提示词后即可运行。",
    "checks.first.frames": "写好提示词并添加首帧后即可运行。",
    "checks.first.references": "写好提示词并添加参考图后即可运行。",
    "checks.first.clip": "写好提示词并添加视频后即可运行。",
    "checks.checking_video": "⏳ 正在检查视频… 检查完成前暂不能运行。",
    "checks.ready": "✓ 可以运行。",
    "checks.off_one": "✗ 请先解决以下问题才能运行：",
    "checks.off_many": "✗ 请先解决以下 {n} 个问题才能运行：",
    "checks.ready_fix": "✓ 可以运行：运行时会先修复下方标出的问题。",
    "checks.sent_as": "实际发送：",
    "checks.fix_available": "可自动修复",
    "counter": "已输入 {typed} 个字符 · 实际发送 {sent} 个（上限 {limit}）",
    "chips.empty": "上传图片或视频后，这里会出现它的引用标签。",
    "chips.hint": "点击即可插入到光标处：",
    "chip.title": "在光标处插入 {token}（{what}）",
    "chip.title_plain": "插入 {token}",
    "slot.start_image": "首帧",
    "slot.end_image": "尾帧",
    "slot.reference_image": "参考图 {n}",
    "slot.video": "视频",
    "card.trim_note": "在胶片条上拖动选框（或在下方输入精确时间），选出要发送的 3-10 秒；运行时会在上传前裁剪。",
    "player.making": "⏳ 正在生成浏览器可播放的预览（视频本身没有问题：Kling 收到的是原视频）…",
    "player.whole": "所选片段的预览（360p）；Kling 收到的是原视频。",
    "player.first": "⏳ 片段的前几秒；其余预览正在生成…",
    "player.poster_alt": "视频中间的一帧",
    "player.label": "视频预览",
    "stage.queued": "排队中",
    "stage.checking": "正在检查输入",
    "stage.fixing": "正在修复输入",
    "stage.uploading": "正在上传文件",
    "stage.starting": "正在启动",
    "stage.processing": "正在生成",
    "stage.downloading": "正在下载结果",
    "stage.done": "已完成",
    "status.preparing": "正在上传输入",
    "status.waiting_for_key": "正在等待你的密钥",
    "status.waiting_for_disk": "正在等待磁盘空间",
    "status.failed": "失败",
    "status.canceled": "已取消",
    "status.aborted": "已中止",
    "status.timed_out": "已超时",
    "status.lost": "已丢失",
    "status.checking_inputs": "正在检查你的输入",
    "status.still_running": "此标签页的任务仍在进行；结束后才能再次运行。想同时生成多个，请选择“条数”。",
    "status.canceling": "正在取消… 等待 Replicate 确认预测已停止。",
    "status.canceled_stopped": "已取消：预测已停止。",
    "status.failed_msg": "失败：{message}",
    "status.not_run": "未运行。{message}",
    "status.failed_unexpected": "失败：发生了意外错误。",
    "status.gone": "此记录已不存在。",
    "status.replicate": "Replicate：{status}",
    "status.replicate_status": "Replicate 状态：",
    "status.prediction": "预测",
    "title.done": "✓ 已完成",
    "title.failed": "✗ 失败",
    "title.canceled": "已取消",
    "title.canceling": "正在取消…",
    "title.in_line_next": "排队中：下一个",
    "title.in_line": "排队中：前面还有 {n} 个",
    "title.running_pct": "生成中 {pct}%",
    "title.running": "生成中",
    "cost.estimate": "预计费用 ≈ ${usd:.2f}（{secs} 秒 × ${rate:.3f}/秒，{mode}）",
    "cost.needs_video": "预计费用：上传视频后显示",
    "cost.fix_files": "预计费用：请先修复文件",
    "facts.fact": "参数",
    "facts.original": "原片",
    "facts.output": "输出",
    "facts.duration": "时长",
    "facts.size": "分辨率",
    "facts.fps": "帧率",
    "facts.audio": "音频",
    "facts.still": "静态图片",
    "facts.yes": "有",
    "facts.no": "无",
    "facts.model_time": "模型耗时 {secs:.1f} 秒",
    "facts.cost": "预计费用 ${usd:.2f}",
    "facts.fixes": "已应用的修复：",
    "facts.warnings": "提醒：",
    "compare.empty": "运行后，结果会在这里播放；如有原片，会与原片并排显示。",
    "compare.output": "Kling O1 输出",
    "compare.earlier": "这是上一次完成的结果，不是本次运行",
    "compare.none": "{label}：无（仅文字）",
    "compare.play": "▶ 播放",
    "compare.play_both": "▶ 同时播放",
    "compare.seek": "进度",
    "compare.seek_both": "同步进度",
    "compare.wipe": "A/B 擦除对比",
    "compare.wipe_pos": "擦除位置",
    "key.paste_first": "请先粘贴密钥。",
    "key.refused": "✗ Replicate 拒绝了此密钥（401），因此未使用。请从 "
                   "replicate.com/account/api-tokens 重新复制。",
    "key.unchecked": "正在使用你的密钥；暂时无法连接 Replicate 进行验证，将在运行时验证。",
    "key.using_name": "正在使用你的密钥（@{name}）。",
    "key.using": "正在使用你的密钥。",
    "key.resumed_one": "有 1 个等待密钥的生成任务将继续获取结果，请查看作品库。",
    "key.resumed_many": "有 {n} 个等待密钥的生成任务将继续获取结果，请查看作品库。",
    "key.forgotten": "已忘记你的密钥。",
    "login.throttled": "来自你的地址的错误密码太多。请等待 {secs} 秒，再用主持人给你的密码重试。",
    "banner.simulator": "离线模拟器：未设置 Replicate 密钥，因此输出在本地模拟生成（带 SIMULATED 水印），"
                        "不产生任何费用。输入你自己的密钥即可运行真实模型。",
    "banner.own_key": "正在使用你自己的密钥在 Replicate 上运行；密钥仅保存在本次浏览器会话中。",
    "banner.host_key": "正在使用站点的密钥在 Replicate 上运行。可能有使用限制；使用你自己的密钥即可解除。",
    "error.generic": "Studio 内部出错了。你的输入已保留，请重试；如果再次出现，请告知站点管理员（详情见服务器日志）。",
    "error.title.generic": "意外错误",
    "error.title": "问题",
    "error.title.Input": "输入问题",
    "error.title.Auth": "密钥问题",
    "error.title.RateLimit": "请求受限",
    "error.title.Connection": "连接问题",
    "error.title.Timeout": "超时",
    "error.title.Access": "访问受限",
    "error.title.Server": "服务器问题",
    "error.title.Prediction": "生成问题",
    "error.title.Storage": "磁盘空间",
    "disk.low": "服务器的磁盘空间快用完了（剩余 {free} MB；一次运行需要 {need} MB），所以这次运行没有开始，"
                "也没有产生费用。你的文件都还在：请几分钟后再试，或告知站点管理员。",
    "disk.waiting": "正在等待磁盘空间：输出已付费，一有空间就会保存。",
    "disk.expired": "在有磁盘空间保存之前，输出已过期：Replicate 会在运行结束约一小时后删除输出。请重新运行。",
    "error.fix_one": "运行前请先解决以下问题：",
    "error.fix_many": "运行前请先解决以下 {n} 个问题：",
    "error.auth": "Replicate 不接受此 API 密钥。请检查 REPLICATE_API_TOKEN 或你粘贴的密钥。",
    "error.billing": "此 Replicate 账户余额不足，无法运行 Kling O1。请充值，然后等待几分钟再试。",
    "error.rate_limit": "Replicate 正在限制此密钥的请求频率（速率限制）。",
    "error.rate_limit_wait": "Replicate 正在限制此密钥的请求频率（速率限制）。请在 {secs} 秒后重试。",
    "error.connection": "无法连接服务器，或连接已中断。请检查网络后重试。",
    "error.timeout": "服务器未能及时响应。请检查网络后重试。",
    "error.server": "Replicate 服务器出错（{status}）。通常很快恢复，请稍等一分钟再试。",
    "error.too_large": "文件过大，Replicate 无法接收（文件须小于 100 MB）。",
    "error.not_in_library": "你的作品库中没有这条记录（可能已被删除）。",
    "edge.not_yours": "这个文件不是你在这里上传的；请重新上传。",
    "edge.a_field": "此项",
    "edge.not_text": "{field} 只接受文字（字符串），不接受列表、数字或对象。",
    "edge.not_number": "{field} 只接受数字。",
    "edge.not_bool": "{field} 只接受 true 或 false。",
    "edge.not_choice": "{field} 只接受给定选项之一（文字或数字）。",
    "edge.unreadable": "Studio 无法读取发送的内容。请刷新页面后重试。",
    "field.prompt": "提示词",
    "field.start_image": "首帧",
    "field.end_image": "尾帧",
    "field.reference_images": "参考图",
    "field.reference_image_n": "参考图 {n}",
    "field.reference_video": "参考视频",
    "field.duration": "时长",
    "field.aspect_ratio": "宽高比",
    "field.mode": "画质",
    "field.tab": "标签页",
    "field.file": "文件",
    "list.sep": "、",
    "probe.empty_image": "这是一个空文件。请上传 JPEG 或 PNG 图片。",
    "probe.video_not_image": "这是一个视频文件，不是图片。请把它作为参考视频上传，或在这里上传 JPEG 或 PNG 图片。",
    "probe.looks_like": "这个文件不是图片（看起来是 {kind}）。请上传 JPEG 或 PNG。",
    "probe.kind_not_image": "这个文件是 {kind}，不是图片。请上传 JPEG 或 PNG。",
    "probe.unreadable_image": "Kling 和本应用都无法读取这个文件的图片内容。请上传 JPEG 或 PNG。",
    "probe.unreadable": "无法读取这个文件，请重新上传。",
    "probe.empty": "这是一个空文件。请上传 {wanted}。",
    "access.hourly": "本演示在使用站点密钥时，每位访客每小时最多可运行 {n} 次。请约 {wait} 分钟后再试，"
                     "或输入你自己的 Replicate API 密钥以解除此限制。",
    "access.hourly_user": "本演示在使用站点密钥时，每位登录用户每小时最多可运行 {n} 次。请约 {wait} 分钟后"
                          "再试，或输入你自己的 Replicate API 密钥以解除此限制。",
    "access.daily": "本演示在使用站点密钥时，每位访客每天最多可运行 {n} 次，今天的次数已用完。"
                    "次数在 UTC 午夜重置；你也可以输入自己的 Replicate API 密钥以解除此限制。",
    "access.daily_user": "本演示在使用站点密钥时，每位登录用户每天最多可运行 {n} 次，今天的次数已用完。"
                         "次数在 UTC 午夜重置；你也可以输入自己的 Replicate API 密钥以解除此限制。",
    "access.sign_in": "请使用 Hugging Face 登录后再用站点的密钥运行（或使用你自己的密钥）。",
    "access.sign_in_api": "请使用 Hugging Face 登录后再用站点的密钥运行（或使用你自己的密钥）。"
                          "API 调用方：请在 X-Replicate-Api-Token 请求头中发送你自己的密钥。",
    "meter.runs_hour": "本小时还可运行 {left} 次（共 {total} 次）",
    "meter.next_in": "（约 {mins} 分钟后恢复 1 次）",
    "meter.runs_day": "今天还可运行 {left} 次（共 {total} 次）",
    "meter.budget": "今日预算剩余 ${left:.2f}（共 ${total:.2f}）",
    "meter.no_limits": "站点密钥没有使用限制",
    "meter.title": "站点密钥的剩余额度；使用你自己的密钥不受这些限制。",
    "access.budget": "本演示今天的预算已用完（剩余 ${left}，共 ${budget}；本次运行预计 ${cost}）。"
                     "预算在 UTC 午夜重置；你也可以输入自己的 Replicate API 密钥。",
    "access.media_busy": "你已有 {n} 个文件在等待检查或转换。请等它们完成后再试。",
    "bounds.prompt_type": "提示词必须是文本。",
    "bounds.file_gone": "服务器上已没有这个文件（重启后或缓存清理时被删除）。请重新上传。",
    "bounds.file_too_big": "大小为 {mb} MB；Studio 最多接受 {limit} MB 的文件。请使用更小的文件。",
    "gate.too_many_files": "此请求包含超过 {limit} 个文件；Studio 没有任何接口接受这么多（参考图最多 7 张，拼接最多 20 段）。请减少文件数量。",
    "gate.too_big": "此请求大于 {mb} MB。请先用 /gradio_api/upload 上传文件，再发送文件路径，而不是文件内容。",
    "rules.image.animated": "是动图（{frames} 帧）；Kling 只接受静态图片。修复时将使用第一帧。",
    "rules.image.format": "是 {format} 格式；Kling 只接受 JPEG 或 PNG。修复时会转换格式。",
    "rules.image.mode": "使用 {mode} 色彩模式；Kling 需要 8 位 RGB。修复时会转换。",
    "rules.image.rotated": "以旋转方式存储（EXIF 方向）；修复时会把像素转正，让 Kling 看到的和你看到的一致。",
    "rules.image.metadata": "包含元数据（EXIF/XMP/文本：相机、位置、备注）；上传前会被移除。",
    "rules.image.too_big": "大小为 {mb:.1f} MB；Kling 最多接受 10 MB。修复时会重新压缩。",
    "rules.image.too_small": "尺寸为 {width}x{height} 像素；每边至少需要 {min_side} 像素。"
                             "修复时会放大（可能略显模糊），也可以换一张更大的图片。",
    "rules.image.aspect": "宽高比为 {ratio:.2f}:1；Kling 接受 1:2.5 到 2.5:1。修复时会补边或居中裁剪。",
    "rules.video.format": "是 {container} / {codec}；Kling 只接受 MP4 或 MOV 视频。修复时会重新编码为 H.264 MP4。",
    "rules.video.too_short": "时长为 {duration:.2f} 秒；Kling 至少需要 3 秒。请使用更长的视频（过短的视频无法在不凭空补帧的情况下修复）。",
    "rules.video.too_long": "时长为 {duration:.1f} 秒；Kling 接受 3-10 秒。请用裁剪滑块选择一个片段。",
    "rules.video.tiny": "尺寸为 {width}x{height} 像素，太小，不像是真正的视频。请换一段视频。",
    "rules.video.size": "尺寸为 {width}x{height} 像素；每边须在 {min_side}-{max_side} 像素之间。修复时会按原比例缩放。",
    "rules.video.fps": "帧率为 {fps:.2f} fps；Kling 接受 24-60 fps。修复时会转换帧率。",
    "rules.video.vfr": "使用可变帧率；Kling 可能误判其时间。修复时会转为恒定帧率。",
    "rules.video.too_big": "大小为 {mb:.1f} MB；文件须小于 {limit}。修复时会在保证画质的前提下重新编码以减小体积。",
    "rules.limit.kling": "200 MB（Kling 限制）",
    "rules.limit.upload": "{size}（Replicate 上传限制）",
    "rules.text.no_media": "文生视频不接受图片或视频；如需使用，请切换到其他标签页。",
    "rules.frames.need_start": "首尾帧模式需要首帧，请上传一张。",
    "rules.references.need_image": "参考图模式至少需要一张参考图，请上传 1 到 7 张。",
    "rules.video.needed": "此标签页需要一段视频。请上传 3-10 秒的 MP4 或 MOV。",
    "rules.video.not_here": "只有视频参考和视频编辑标签页接受视频。",
    "rules.end.needs_start": "使用尾帧需要同时提供首帧。请同时上传首帧，或移除尾帧。",
    "rules.end.too_many": "使用尾帧时图片总数不能超过 {limit} 张；你已有 {n} 张。请移除参考图或尾帧。",
    "rules.edit.no_frames": "首帧/尾帧不能与视频编辑同时使用。请移除它们，或改用视频参考标签页。",
    "rules.images.too_many": "共 {n} 张图片；{with_}时 Kling 最多接受 {limit} 张。请移除 {extra} 张。",
    "rules.with_video": "有视频",
    "rules.without_video": "没有视频",
    "rules.mode": "画质必须是 std 或 pro，收到的是 {value}。",
    "rules.aspect_ratio": "宽高比必须是以下之一：{ratios}。",
    "rules.duration": "此标签页的时长必须为 {allowed} 秒，收到的是 {value}。",
    "rules.duration.plain": "5 或 10",
    "rules.duration.any": "3 到 10",
    "rules.prompt.empty": "提示词为空。请描述你想要的视频。",
    "rules.prompt.too_long": "提示词为 {size}；Kling 最多接受 {limit} 个字符。请删减 {over} 个字符。",
    "rules.prompt.size": "{sent} 个字符",
    "rules.prompt.size_sent": "输入 {typed} 个字符，实际发送 {sent} 个（@Image1 之类的引用会以 <<<image_1>>> 的形式发送）",
    "tokens.rewritten": "引用将按 Kling 的写法发送：{listed}{more}。",
    "tokens.as": "{typed} 发送为 {sent}",
    "tokens.more": "，另有 {n} 处",
    "tokens.spaced": "中的“{token}”括号内有空格；它会按原样发送，Kling 不会把它识别为引用。请点击素材标签插入引用。",
    "tokens.no_image": "{token} 没有对应的图片：{have}。请删除该引用或上传图片。",
    "tokens.have_n": "目前只有 {n} 张图片",
    "tokens.have_1": "目前只有 1 张图片",
    "tokens.have_none": "尚未上传图片",
    "tokens.no_video": "{token} 没有对应的视频：{what}。请删除该引用或上传视频。",
    "tokens.no_video_uploaded": "尚未上传视频",
    "tokens.only_video_1": "只有 <<<video_1>>>",
    "tokens.unused_image": "没有提到 {token}；Kling 可能会忽略这张图片。点击它的标签即可插入。",
    "tokens.unused_video": "没有提到 {token}；请说明要如何使用这段视频。",
}

CATALOGUES: dict[str, dict[str, str]] = {EN_LANG: EN, ZH_LANG: ZH}


def fields_of(template: str) -> set[str]:
    """The `{field}` names a template uses (format specs aside)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _render_param(value: Any, lang: str) -> Any:
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, tuple):
        return t("list.sep", lang).join(str(_render_param(v, lang)) for v in value)
    return value


def t(key: str, lang: str | None = None, /, **fmt: Any) -> str:
    """The text of `key` in `lang` (None: the current request's language), with `fmt` filled in.

    A key missing in a language falls back to English; an unknown key is returned as it is, so a
    slip shows a readable id rather than crashing a handler.
    """
    lang = normalize(lang) if lang is not None else current_lang()
    template = CATALOGUES.get(lang, EN).get(key, EN.get(key))
    if template is None:
        return key
    if not fmt:
        return template
    return template.format(**{k: _render_param(v, lang) for k, v in fmt.items()})


def msg(key: str, **params: Any) -> Msg:
    return Msg(key, params)


# ------------------------------------------------------------------------------------------------
# Choosing the language
# ------------------------------------------------------------------------------------------------

_LANG_RE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?")


def normalize(lang: str | None) -> str:
    """One of LANGS for a language tag: any Chinese but Traditional-only tags is zh-CN."""
    tag = (lang or "").strip().lower().replace("_", "-")
    if tag in ("zh", "zh-cn", "zh-sg", "zh-hans") or tag.startswith(("zh-hans", "zh-cn")):
        return ZH_LANG
    return EN_LANG


def lang_of(accept_language: str | None) -> str:
    """The language to answer in for an `Accept-Language` header ("zh-CN,zh;q=0.9,en;q=0.8").

    The first of our languages in the visitor's order of preference (by q); English when none
    matches. Traditional Chinese (zh-TW, zh-HK) prefers English here only if English is listed;
    otherwise Simplified Chinese is closer than English.
    """
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        m = _LANG_RE.match(part)
        if not m:
            continue
        try:
            q = float(m.group(2)) if m.group(2) is not None else 1.0
        except ValueError:
            q = 0.0
        if q > 0:
            ranked.append((-q, i, m.group(1).lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return ZH_LANG
        if tag.startswith("en"):
            return EN_LANG
    return EN_LANG


def request_lang(request: Any) -> str:
    headers = getattr(request, "headers", None) or {}
    value = headers.get("accept-language", "") if hasattr(headers, "get") else ""
    return lang_of(value)


def current_lang() -> str:
    """The language of the Gradio request being handled (Gradio keeps it in a context
    variable for every event handler); English outside a request (API summaries, logs)."""
    try:
        from gradio.context import LocalContext
    except ImportError:  # pragma: no cover - gradio is a dependency of the app
        return EN_LANG
    request = LocalContext.request.get(None)
    if request is None or _public_endpoint(LocalContext):
        return EN_LANG
    return request_lang(request)


def _public_endpoint(context: Any) -> bool:
    """Whether the event being handled is a public API endpoint (the page's own events are all
    private): API callers get English whatever their Accept-Language says."""
    try:
        blocks = context.blocks.get(None)
        event_id = context.event_id.get(None)
        queue = getattr(blocks, "_queue", None)
        if queue is None or not event_id:
            return False
        event = queue.event_ids_to_events.get(event_id)
        if event is None:  # a started event has left that map: it is among the active jobs
            for job in getattr(queue, "active_jobs", None) or ():
                event = next((e for e in job or () if getattr(e, "_id", None) == event_id), None)
                if event is not None:
                    break
        return getattr(getattr(event, "fn", None), "api_visibility", "private") == "public"
    except Exception:  # noqa: BLE001 - Gradio internals: fall back to the visitor's language
        return False


# ------------------------------------------------------------------------------------------------
# Gradio side
# ------------------------------------------------------------------------------------------------

def client_catalogues() -> dict[str, dict[str, str]]:
    """What goes to the browser: keys without `{fields}` (the browser's formatter reads braces
    as ICU placeholders)."""
    return {lang: {k: v for k, v in cat.items() if "{" not in v} for lang, cat in CATALOGUES.items()}


_GRADIO_I18N: Any = None


def gradio_i18n() -> Any:
    """The `gr.I18n` passed to `launch(i18n=...)` (made once)."""
    global _GRADIO_I18N
    if _GRADIO_I18N is None:
        import gradio as gr

        cats = client_catalogues()
        _GRADIO_I18N = gr.I18n(en=cats[EN_LANG], **{ZH_LANG: cats[ZH_LANG]})
    return _GRADIO_I18N


def i18n(key: str) -> Any:
    """A label translated in the browser: `gr.Button(i18n("run"))`."""
    if key not in EN or "{" in EN[key]:
        raise KeyError(f"no client-side translation key {key!r}")
    return gradio_i18n()(key)


# ------------------------------------------------------------------------------------------------
# Problems and errors, as a visitor reads them
# ------------------------------------------------------------------------------------------------

_FIELD_N = re.compile(r"^reference_images\[(\d+)\]$")


def field_label(name: str, lang: str | None = None) -> str:
    """The input a problem names: the field's own name in English (as the API reports it), a
    word in Chinese."""
    lang = normalize(lang) if lang is not None else current_lang()
    m = _FIELD_N.match(name)
    if m:
        return t("field.reference_image_n", lang, n=int(m.group(1)))
    key = f"field.{name}"
    return t(key, lang) if key in EN else name


def problem_text(problem: Any, lang: str | None = None) -> str:
    """A Problem's message in `lang` (its Msg when it has one, else its English text)."""
    lang = normalize(lang) if lang is not None else current_lang()
    m = getattr(problem, "msg", None)
    if m is None:
        return from_english(str(problem.message), lang)
    return m.render(lang) if lang != EN_LANG else str(problem.message)


def error_text(exc: Any, lang: str | None = None) -> str:
    """One of our errors in `lang`. English is the error's own message, unchanged; in Chinese
    an input error lists its problems, and the common API/network errors have their own text
    (details the server sent, in English, are not repeated)."""
    from ..core import errors as e

    lang = normalize(lang) if lang is not None else current_lang()
    message = str(getattr(exc, "message", "") or exc)
    if lang == EN_LANG:
        return message
    if isinstance(exc, e.InputError) and exc.problems:
        errs = [p for p in exc.problems if p.is_error] or list(exc.problems)
        if all(getattr(p, "msg", None) is not None for p in errs):
            lines = [f"{field_label(p.field, lang)}：{problem_text(p, lang)}" for p in errs]
            head = t("error.fix_one", lang) if len(lines) == 1 else t(
                "error.fix_many", lang, n=len(lines))
            return head + "\n- " + "\n- ".join(lines)
        return from_english(message, lang)
    if isinstance(exc, e.AuthError):
        return t("error.auth", lang)
    if isinstance(exc, e.BillingError):
        return t("error.billing", lang)
    if isinstance(exc, e.RateLimitError):
        wait = getattr(exc, "retry_after", None)
        if wait is not None:
            return t("error.rate_limit_wait", lang, secs=max(1, int(-(-wait // 1))))
        return t("error.rate_limit", lang)
    if isinstance(exc, e.PayloadTooLargeError):
        return t("error.too_large", lang)
    if isinstance(exc, e.ServerError) and getattr(exc, "status", 0) >= 500:
        return t("error.server", lang, status=exc.status)
    if isinstance(exc, e.KlingTimeoutError):
        return t("error.timeout", lang)
    if isinstance(exc, e.KlingConnectionError):
        return t("error.connection", lang)
    return from_english(message, lang)


def error_title(exc: Any, lang: str | None = None) -> str:
    """The title of the error pop-up ("Input problem", "输入问题")."""
    name = type(exc).__name__.replace("Error", "").replace("Kling", "").strip()
    key = f"error.title.{name}" if name else "error.title"
    if key in EN:
        return t(key, lang)
    lang = normalize(lang) if lang is not None else current_lang()
    english = type(exc).__name__.replace("Error", " problem").replace("Kling", "").strip()
    return t("error.title", lang) if lang != EN_LANG or not english else english


def problem(field_name: str, key: str, *, fix: str | None = None, severity: str = "error",
            **params: Any) -> Any:
    """A `Problem` whose message is the English text of `key`, carrying the id for the UI."""
    from ..core.models import Problem

    m = Msg(key, params)
    return Problem(field_name, m.render(EN_LANG), fix=fix, severity=severity, msg=m)


_COST_RE = re.compile(r"^Estimated cost ≈ \$([0-9.]+) \((\d+) s × \$([0-9.]+)/s, (\w+)\)$")
_COST_FIXED = {"Estimated cost: upload a video to see it": "cost.needs_video",
               "Estimated cost: fix the files first": "cost.fix_files"}


def cost_text(english: str, lang: str | None = None) -> str:
    """The cost line beside Run (pricing.describe_cost's English, which the API also returns)
    in the page's language; a line it does not know stays as it is."""
    lang = normalize(lang) if lang is not None else current_lang()
    if lang == EN_LANG:
        return english
    if english in _COST_FIXED:
        return t(_COST_FIXED[english], lang)
    m = _COST_RE.match(english)
    if not m:
        return english
    return t("cost.estimate", lang, usd=float(m.group(1)), secs=int(m.group(2)),
             rate=float(m.group(3)), mode=m.group(4))


def from_english(text: str, lang: str | None = None) -> str:
    """An English message from a module that does not carry message ids (the banner, the file
    prober, the host's limits) in the page's language: matched against the catalogue's English
    templates of those keys, its fields taken from the text. Anything else stays as it is."""
    lang = normalize(lang) if lang is not None else current_lang()
    if lang == EN_LANG or not text:
        return text
    for key, pattern in _MATCHED:
        m = pattern.match(text.strip())
        if m:
            return t(key, lang, **m.groupdict())
    return text


def _template_re(template: str) -> re.Pattern[str]:
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.+?)")
    return re.compile("^" + "".join(parts) + "$", re.S)


_MATCHED = [(k, _template_re(v)) for k, v in EN.items()
            if k.startswith(("banner.", "probe.", "access.", "disk."))]


_REF_IMAGE = re.compile(r"^reference image (\d+)$")
_WHAT = {"start frame": "slot.start_image", "end frame": "slot.end_image", "video": "slot.video"}


def token_what(what: str, lang: str | None = None) -> str:
    """What a token chip points at (prompt.token_labels' English) in the page's language."""
    m = _REF_IMAGE.match(what)
    if m:
        return t("slot.reference_image", lang, n=int(m.group(1)))
    return t(_WHAT[what], lang) if what in _WHAT else what
