"""The papers' estimators (PSM with pstest balance, DID and PSM-DID, CMP, VEP, OLS and Cox, the
entropy-weight resilience index), usable on any pandas DataFrame and on simulated panels.

Layout (layers: model -> analysis.estimators -> scenarios -> analysis.studies -> calibration -> CLI):

* :mod:`.estimators` -- the generic estimators and their shared pieces (common helpers, result
  protocol, table formatter); imports nothing of ruralabm outside itself.
* :mod:`.studies` -- the papers' studies on simulated panels (papers, published, survey,
  validation, replicate); :mod:`.specs` -- the papers' specifications (constants only).
* ``ruralabm.analysis.psm``, ``.did``, ``.cmp``, ``.vep``, ``.survival``, ``.resilience``,
  ``.propensity``, ``.results``, ``.errors``, ``._bvn`` and ``.papers``, ``.published``,
  ``.survey``, ``.validation``, ``.replicate`` are the same module objects under their short
  names (e.g. ``ruralabm.analysis.psm.match``).
"""
