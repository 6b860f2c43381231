"""``cdk synth -c stage=dev|prod``: the entry point ``cdk.json`` runs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aws_cdk import App

from cellhub_infra.app_builder import build_app

app = App()
build_app(app)
app.synth()
