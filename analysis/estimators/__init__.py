"""The generic estimators, usable on any pandas DataFrame: propensity scores, PSM with pstest
balance, two-way FE DID and kernel PSM-DID, CMP, VEP, OLS and Cox, the entropy-weight
resilience index; with the shared helpers (:mod:`.common`), the result protocol
(:mod:`.results`) and the table formatter (:mod:`.tables`).

This package imports nothing of ``ruralabm`` outside itself (no model, scenarios, calibration or
studies), and its modules use only each other's public names.
"""
