"""Deterministic detectors (no LLM) used by the scan engine and the guardrails.

* :mod:`ragward.engine.detectors.canary` — canary tokens and the canary matcher;
* :mod:`ragward.engine.detectors.exfiltration` — links and images that can carry
  data to an outside host;
* :mod:`ragward.engine.detectors.redact` — masking secrets in evidence.
"""
