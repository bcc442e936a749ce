"""Shared by tests/browser and the browser benchmarks: start the real app, drive headless Chromium against it.

Not part of the product (explorer/) and not a benchmark: an importable place both can use.
"""
