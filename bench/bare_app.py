"""The start-up baseline (figure 6): the barest Gradio Blocks app, launched like `python app.py`.

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose the address, as for the Studio; SSR is off, as
the Studio's `launch_options` sets it.
"""

import gradio as gr

with gr.Blocks() as demo:
    gr.Markdown("Hello")

if __name__ == "__main__":
    demo.launch(ssr_mode=False)
