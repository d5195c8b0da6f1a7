"""Replicate's wire: the HTTP client, the protocol's pure helpers, and the local simulator.

    client       `ReplicateClient`: the parts below joined, and a whole run (`run`, `follow`)
    wire         the one `httpx.AsyncClient`, the retry rule, where the key is revealed
    files        inputs up (Files API or data URIs), the output down, uploads deleted
    predictions  create (paced per key, never repeated blindly), adopt, get, cancel; account
    waiting      a prediction polled or held to its end, progress, cancel anywhere
    protocol     the wire's pure parts: error mapping (`raise_for_status`), backoff, parsing
    simulator    a Replicate-compatible server on 127.0.0.1 for offline use and tests

May import: `kling_ui.core`, `kling_ui.i18n`, and `kling_ui.media` (the simulator renders real
mp4 outputs). Never gradio, the library, runs or the UI.
"""
