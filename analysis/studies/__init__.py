"""The three papers' studies on simulated panels: specifications and statistics (:mod:`.papers`),
published estimates (:mod:`.published`), survey samples (:mod:`.survey`), the validation Monte
Carlo (:mod:`.validation`) and the replications (:mod:`.replicate`).

Layering: model -> analysis.estimators -> scenarios -> analysis.studies -> calibration -> CLI;
the constant specifications themselves are in :mod:`ruralabm.analysis.specs` (no imports).
"""
