"""A local stand-in for the Replicate HTTP API, serving `kwaivgi/kling-o1` with real mp4 outputs.

It implements, with Replicate's JSON shapes and status codes (shared/reference/replicate-openapi.yaml),
the subset the client uses: the Files API, prediction create (model and version routes) / get /
cancel, `Prefer: wait=N`, `Cancel-After`, RFC 7807 problem details and 422 `invalid_fields` for
inputs that break the kling-o1 schema. Outputs are rendered by `media.render` in a worker thread
and served from `/delivery/{id}/output.mp4`, like replicate.delivery.

For tests, `SimState` records every request (without the token: a short hash marks which key
was used), and takes faults: forced statuses, delays, dropped connections, outcomes.
`running_simulator()` / `start_simulator()` serve it on 127.0.0.1 on a free port in a thread.
"""

from .routes import create_app
from .schema import problem, validate_body
from .server import (
    RunningSimulator,
    SimulatorServer,
    running_simulator,
    serve_in_thread,
    start_simulator,
)
from .state import (
    TERMINAL,
    Fault,
    RecordedRequest,
    SimFile,
    SimOptions,
    SimPrediction,
    SimState,
    key_marker,
    parse_cancel_after,
)

__all__ = [
    "TERMINAL", "Fault", "RecordedRequest", "RunningSimulator", "SimFile", "SimOptions",
    "SimPrediction", "SimState", "SimulatorServer", "create_app", "key_marker",
    "parse_cancel_after", "problem", "running_simulator", "serve_in_thread", "start_simulator",
    "validate_body",
]
