"""Deployment as a pipeline step: gates, promotion, a smoke test and automatic rollback.

``legato.deploy`` (the task), ``legato.gates`` (the gates) and ``legato.SmokeTest``; see
:mod:`legato.deployment.step`.
"""

from __future__ import annotations

from legato.deployment import gates
from legato.deployment.smoke import SmokeTest
from legato.deployment.step import Deployment, deploy, run_deployment, undeploy

__all__ = ["Deployment", "SmokeTest", "deploy", "gates", "run_deployment", "undeploy"]
