"""mgrdark_train: baselines and MTCD cross-modal distillation on mgrdark clip datasets."""

__version__ = "0.1.0"
