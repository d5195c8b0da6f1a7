"""Kling O1 Studio: a Gradio front end for Kling O1 (`kwaivgi/kling-o1`) on Replicate.

The package is layered so imports point one way (shared/STYLE.md):

    app.py -> kling_ui.ui -> kling_ui.service
           -> {prompt, rules, payload, pricing, media, client, simulator}
           -> {models, errors, config}

Importing the package itself is cheap: it pulls in no gradio, httpx or PIL.
"""

__version__ = "0.1.0"
