"""SAL: weakly-supervised temporal action localization (multilevel semantic + adaptive actionness learning).

Baseline of Li, Wang and Dong, Neural Networks 182 (2025) 106905; facts in
``docs/sal_paper_vs_code.md``.  Modules:

  config       the typed, validated config (``configs/sal_defaults.yaml`` holds every value)
  model        the network (two-stream encoder, CAS and actionness heads, bilinear second-order head)
  losses       MIL, background-uniform, masked GCE, mix-up, consistency and second-order losses
  train        training on the shared loop (``aher.train.loop``), model selection, testing
  (aher.model.snippet_grouping)  inference post-processing: predicted classes, multi-threshold OIC proposals,
               seconds conversion, class-wise one-pass soft-NMS, ActivityNet result dict (sal_paper_vs_code §8)
  data         features, fixed-T sampling and labels
  __main__     command line (``python -m aher.baselines.sal``)
"""
