"""Seed 002: writers' words about picture quality turned into training signal."""

from core.feedback.evaluation import (
    QualityFeedback,
    classify_feedback,
    is_quality_complaint,
    reverse_evaluation,
)

__all__ = ["QualityFeedback", "classify_feedback", "is_quality_complaint", "reverse_evaluation"]
