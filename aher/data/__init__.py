"""Data layer of aher: one concept per module.

  aher.data.annotations  annotation files (ActivityNet, BSN/BMN, ActionFormer, AherNet K600,
                         G-TAD THUMOS14 CSVs, Kinetics lists) -> Video/Instance records, the
                         ActivityNet GT writer, class lists and the 87/113 taxonomy split
  aher.data.make_meta    script: writes the derived class-name lists of data/meta/
  aher.data.features     HDF5 feature store (read/write) and fixed-length resampling
  aher.data.moments      foreground/moment segment extraction from feature stores
  aher.data.pipeline     tf.data input pipelines (untrimmed, segment, evaluation)
  aher.data.dataset_files  the files of a dataset folder (leaf)
  aher.data.synthetic    the synthetic benchmark (knobs, world, layouts, rendering, writer, report;
                         ``python -m aher.data.synthesize``)

Nothing is imported here, so ``import aher.data.annotations`` does not pull in TensorFlow.
"""
