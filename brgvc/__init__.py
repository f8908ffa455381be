"""brgvc: global value chain analysis of MRIO tables at scale."""

from __future__ import annotations

__version__ = "0.1.0"
