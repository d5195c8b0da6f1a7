"""Hosting a public Space: who a caller is, what they may spend, and the host's limits.

    access    quotas on the host's key: password, runs per hour and day, daily budget (ledger)
    bounds    cheap before costly: checks made before any probe, and the bounded media pool
    disk      the host's disk limit (KLING_MAX_GB) and what happens when it is full
    identity  sign-in: the signed visitor cookie, Hugging Face OAuth
    proxies   the client address from the proxy's own hop of X-Forwarded-For

May import: `kling_ui.core` and `kling_ui.i18n` (and starlette's types, for the middleware).
Never gradio's Blocks, httpx, the library, runs or the UI.
"""
