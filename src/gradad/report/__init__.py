"""The run report (report.html, self-contained) and the contrastive-pattern gallery."""
from gradad.report.gallery import collect_patterns, load_bank, write_gallery
from gradad.report.page import REPORT_HTML, write_report, write_training_report

__all__ = ["REPORT_HTML", "collect_patterns", "load_bank", "write_gallery", "write_report", "write_training_report"]
