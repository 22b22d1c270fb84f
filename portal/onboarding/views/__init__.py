"""The onboarding wizard: one short function-based view per step (docs/architecture.md).

``common`` holds what every page shares (run lookup, rendering, failures in plain words, moving
on); one module per step or concern: ``runs`` (My setups, step a, resume, cancel), ``app`` (b),
``authorize`` (c), ``profile`` (d), ``datasource`` (e and f), ``validate`` (inline field checks).
"""
