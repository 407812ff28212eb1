"""The reference multi-tenant RAG lab that ragward scans by default.

``RagLab`` (:mod:`ragward.lab.pipeline`) is a real pipeline: all-MiniLM-L6-v2
embeddings, embedded Chroma, BM25, a semantic response cache and SmolLM2, with
the named flaws of its ``vulnerable`` profile and the guardrails of its
``hardened`` profile (:mod:`ragward.lab.profiles`, docs/lab.md).
``LabTarget`` (:mod:`ragward.lab.target`) adapts it to the scan ``Target``
protocol. Import those modules directly; this package imports nothing heavy.
"""
