"""ragward: a security scanner for retrieval-augmented generation (RAG) pipelines.

Three suites (canary, isolation, injection) drive a real pipeline through the
:class:`ragward.targets.base.Target` protocol; every test records its outcome,
evidence and the guardrail or layer that caught it; failed tests become findings
with a severity, a mitigation and OWASP LLM Top 10 2025 / MITRE ATLAS references.
"""

__version__ = "0.1.0"
