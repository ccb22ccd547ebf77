"""Localization core of aher: one concept per module.

  aher.model.anchors          anchor layers derived from the input length T (numpy only)
  aher.model.box_coder        SSD-style encode/decode with prior scaling 0.1, grid -> seconds
  aher.model.matcher          per-anchor best-GT matching -> training targets
  aher.model.layers           TF1-style conv1d / fully_connected building blocks
  aher.model.backbone         shared 1-D conv backbone (scope ``aher/``)
  aher.model.heads            box heads, pooled classifier, anchor-level classifier
  aher.model.weight_transfer  per-layer weight-transfer MLP theta^j
  aher.model.variable_groups  variable groups and the sub-steps of Algorithm 1
  aher.model.losses           classification and localization losses
  aher.model.postprocess      decoding, 1-D NMS and the results JSON

Names, signatures, shapes and flatten orders are fixed by ``docs/model_contract.md``.
Nothing is imported here, so ``import aher.model.anchors`` does not pull in TensorFlow.
"""
