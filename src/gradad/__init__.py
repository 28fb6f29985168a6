"""gradad: unsupervised visual anomaly detection with GRAD (generated and reweighted contrastive patterns)."""
__version__ = "0.1.0"
