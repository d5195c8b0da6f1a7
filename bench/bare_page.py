"""The Lighthouse baseline (figure 16): a bare Gradio Blocks page holding about the Studio's
components (6 tabs; a textbox, radios and a dropdown; image, video and file inputs; three
players; code), with the Studio's theme (so fonts and colours cost both the same) and none of
its own script, CSS or handlers. Launched like `python app.py`; SSR off as there.
"""

import gradio as gr

from kling_ui.ui.page import studio_theme

with gr.Blocks(title="Bare page") as demo:
    gr.HTML("<h1>Bare page</h1><p>The same components, no Studio.</p>")
    with gr.Tabs():
        for name in ("Text", "Frames", "References", "Video reference", "Edit", "Library"):
            with gr.Tab(name), gr.Row():
                with gr.Column():
                    gr.Radio(["Kling O1", "Kling 3.0 Omni"], value="Kling O1", label="Model")
                    if name in ("Frames", "References"):
                        gr.Image(label="Start frame", type="filepath", height=220)
                    if name in ("Video reference", "Edit"):
                        gr.Video(label="Video", height=260)
                    if name in ("References", "Edit"):
                        gr.File(label="Images", file_count="multiple", height=120)
                    gr.Textbox(label="Prompt", lines=3)
                    with gr.Row():
                        gr.Radio(["16:9", "9:16", "1:1"], value="16:9", label="Aspect ratio")
                        gr.Dropdown([5, 10], value=5, label="Duration")
                        gr.Radio(["std", "pro"], value="pro", label="Quality")
                with gr.Column():
                    gr.Button("Run", variant="primary")
                    gr.Markdown("Estimated cost")
                    gr.HTML("<p>Your result plays here.</p>")
                    gr.Video(label="Output", interactive=False)
                    with gr.Accordion("Details", open=False):
                        gr.JSON(label="Summary")
                        gr.Code(language="python", label="Python")

if __name__ == "__main__":
    demo.launch(ssr_mode=False, theme=studio_theme())
