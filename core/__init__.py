"""The shared kernel: the declarative base, engines, unit of work, stores, domain errors, text rules.

Every other package may import `core`; `core` imports none of them.
"""
