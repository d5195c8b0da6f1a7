"""The Studio's Gradio 6 page, one module per panel.

    page     the whole Blocks: header, banner, keys, the mode tabs, the library, the API
    tabs     one mode tab's handlers and wiring; its layout in `tab_layout`, its live checks,
             fixes and presets in `tab_checks`, its run, watch, reattach and cancel in `tab_run`
    compare  the synchronized compare player (original beside output, A/B wipe)
    library  the Library tab: every run kept, filters, restore, download, export, delete
    api      the named endpoints for gradio_client (and MCP)
    common   the one error wrapper (`guarded`), the session state, small HTML renderers
    edge     what a caller sent, checked: types, and only the caller's own uploads (`own_upload`)

Handlers are plain functions over the `Studio` (kling_ui.runs.service); nothing here touches files or
the network itself.

May import: every package (it is the top layer, below only app.py); nothing imports it.
"""

from .page import build_ui, launch_options

__all__ = ["build_ui", "launch_options"]
