"""The papers' estimators (PSM with pstest balance, DID and PSM-DID, CMP, VEP, OLS and Cox, the
entropy-weight resilience index), usable on any pandas DataFrame and on simulated panels."""
