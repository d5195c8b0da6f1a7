"""What every figure is given: quick or full, the temp dir for media, and a progress logger."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Ctx:
    quick: bool
    tmp: Path
    started: float = field(default_factory=time.monotonic)

    def reps(self, full: int, quick: int = 1) -> int:
        return quick if self.quick else full

    def log(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {msg}", file=sys.stderr, flush=True)
