"""The Lighthouse baseline (figure 16): a bare Gradio Blocks page holding about the Studio's
components (6 tabs; a textbox, radios and a dropdown; image, video and file inputs; three
players; code), with the Studio's theme (so fonts and colours cost both the same) and none of
its own script, CSS or handlers. Launched like `python app.py`; SSR off as there.

With BARE_COMPONENTS=N (and BARE_LISTENERS=M) it is the same page grown to about the Studio's
size: each tab's block repeated until the page config holds N components, then M listeners
(change and click events with trivial handlers). That anchor tells what the Studio's own code
costs over Gradio building a tree of the same size.
"""

import os

import gradio as gr

from kling_ui.ui.page import studio_theme

TABS = ("Text", "Frames", "References", "Video reference", "Edit", "Library")
WANT = int(os.environ.get("BARE_COMPONENTS", "0") or 0)
LISTENERS = int(os.environ.get("BARE_LISTENERS", "0") or 0)


def tab_block(name: str, live: list) -> None:
    with gr.Row():
        with gr.Column():
            live.append(gr.Radio(["Kling O1", "Kling 3.0 Omni"], value="Kling O1", label="Model"))
            if name in ("Frames", "References"):
                gr.Image(label="Start frame", type="filepath", height=220)
            if name in ("Video reference", "Edit"):
                gr.Video(label="Video", height=260)
            if name in ("References", "Edit"):
                gr.File(label="Images", file_count="multiple", height=120)
            live.append(gr.Textbox(label="Prompt", lines=3))
            with gr.Row():
                live.append(gr.Radio(["16:9", "9:16", "1:1"], value="16:9", label="Aspect ratio"))
                gr.Dropdown([5, 10], value=5, label="Duration")
                gr.Radio(["std", "pro"], value="pro", label="Quality")
        with gr.Column():
            live.append(gr.Button("Run", variant="primary"))
            gr.Markdown("Estimated cost")
            live.append(gr.HTML("<p>Your result plays here.</p>"))
            gr.Video(label="Output", interactive=False)
            with gr.Accordion("Details", open=False):
                gr.JSON(label="Summary")
                gr.Code(language="python", label="Python")


def echo(value: object) -> object:
    return value


live: list = []
with gr.Blocks(title="Bare page") as demo:
    gr.HTML("<h1>Bare page</h1><p>The same components, no Studio.</p>")
    with gr.Tabs():
        tabs = [gr.Tab(name) for name in TABS]
        per_block = 0
        for tab, name in zip(tabs, TABS, strict=True):
            with tab:
                before = len(demo.blocks)
                tab_block(name, live)
                per_block += len(demo.blocks) - before
        # Grown over the tabs in turn, one block at a time, to about WANT components.
        turn = 0
        while WANT and len(demo.blocks) + per_block // (2 * len(TABS)) <= WANT:
            with tabs[turn % len(TABS)]:
                tab_block(TABS[turn % len(TABS)], live)
            turn += 1
    for i in range(LISTENERS):
        source, target = live[i % len(live)], live[(7 * i + 3) % len(live)]
        if isinstance(source, gr.Button):
            source.click(echo, inputs=[target], outputs=[target])
        else:
            source.change(echo, inputs=[source], outputs=[target])

if __name__ == "__main__":
    demo.launch(ssr_mode=False, theme=studio_theme())
