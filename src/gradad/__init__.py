"""gradad: unsupervised visual anomaly detection with GRAD (generated and reweighted contrastive patterns)."""
__version__ = "0.1.0"

from gradad.config import GRADConfig, profile  # noqa: E402
from gradad.pipeline import GRAD, Prediction  # noqa: E402

__all__ = ["GRAD", "GRADConfig", "Prediction", "profile", "__version__"]
