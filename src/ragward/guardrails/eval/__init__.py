"""Evaluation of the guardrails: a labelled corpus generator and a PDF writer for test documents.

``python -m bench bench_guardrails`` (``make bench``) measures precision, recall,
F1 and latency per kilobyte of each guardrail on the corpus written by
:mod:`ragward.guardrails.eval.corpus`.
"""
