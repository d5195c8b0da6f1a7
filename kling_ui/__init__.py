"""Kling O1 Studio: a Gradio front end for Kling O1 (`kwaivgi/kling-o1`) on Replicate.

Packages name the concerns, and imports point only down the layers (shared/STYLE.md; checked by
tests/test_architecture.py):

    app.py
      ui          the Gradio page, one module per panel; the edge every handler goes through
      runs        the Studio facade and the run machinery (runner, pool, resumer, files)
      finishing   the service side of media work on results (motion, splice, compare, frames)
      replicate   the HTTP client, the wire's pure parts, the simulator  |  library (SQLite)
      media       Pillow and ffmpeg (the only place)  |  hosting (quotas, bounds, sign-in, proxies)
      core        pure rules and values (models, errors, config, rules, prompt, pricing, ...)
      i18n        the catalogues and translation (beside core: rules' messages carry ids)

Importing the package itself is cheap: it pulls in no gradio, httpx or PIL.
"""

__version__ = "0.1.0"
