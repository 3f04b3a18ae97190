"""The analysis settings: the 三率 weights and the smallest hot spot shown, from a YAML file."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workflow.base.errors import InvalidInput

DEFAULT_FILE = Path(__file__).parent / "data" / "analysis.yaml"


class Weights(BaseModel):
    """The weights of the 三率 composite."""

    model_config = ConfigDict(extra="forbid")

    response: float = Field(0.30, ge=0)
    resolution: float = Field(0.35, ge=0)
    satisfaction: float = Field(0.35, ge=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = self.response + self.resolution + self.satisfaction
        if abs(total - 1) > 1e-6:
            raise ValueError(f"the weights add up to {total:g}, not 1")
        return self


class AnalysisSettings(BaseModel):
    """A deployment's analysis settings."""

    model_config = ConfigDict(extra="forbid")

    weights: Weights = Weights()
    hot_spot_min: int = Field(5, ge=1)


def analysis_settings() -> AnalysisSettings:
    """Read ``GRIDCASE_ANALYSIS`` (or the shipped file).

    Raises:
        InvalidInput: the file cannot be read or an entry is wrong; the message names it.
    """
    path = Path(os.environ.get("GRIDCASE_ANALYSIS") or DEFAULT_FILE)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"GRIDCASE_ANALYSIS: {path}: {exc}") from exc
    try:
        return AnalysisSettings.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, str(path)) from exc
