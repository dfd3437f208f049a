"""Captcha solvers and the pipeline that solves ahead of the throttle.

Solvers (make_solver picks one by CAPTCHA_SOLVER): none (the default), 2captcha's in.php / res.php
(twocaptcha.py), and the createTask / getTaskResult / getBalance JSON protocol of Anti-Captcha, CapMonster Cloud
and CapSolver (taskapi.py), each with the services' polling manners (polite.py). The pipeline (pipeline.py) keeps
tokens solved ahead for the lookups that are due. No Django and no Playwright here.
"""

from __future__ import annotations

from cedula.registry.captcha.base import MESSAGES, CaptchaError, CaptchaSolver, Manners, Solved, solver_error
from cedula.registry.captcha.pipeline import CaptchaPipeline, PipelineConfig, pipeline_size
from cedula.registry.captcha.taskapi import TaskApiSolver
from cedula.registry.captcha.twocaptcha import TwoCaptchaSolver

# Where each service answers when CAPTCHA_API_URL is left empty.
DEFAULT_API_URLS = {
    "2captcha": "https://2captcha.com",
    "anticaptcha": "https://api.anti-captcha.com",
    "capmonster": "https://api.capmonster.cloud",
    "capsolver": "https://api.capsolver.com",
}
SOLVER_KINDS = ("none", *DEFAULT_API_URLS)


def make_solver(*, kind: str, api_url: str, api_key: str, manners: Manners | None = None) -> CaptchaSolver | None:
    """None when no solver is configured (the default)."""
    if kind not in DEFAULT_API_URLS:
        return None
    url = api_url or DEFAULT_API_URLS[kind]
    if kind == "2captcha":
        return TwoCaptchaSolver(api_url=url, api_key=api_key, manners=manners or Manners())
    return TaskApiSolver(api_url=url, api_key=api_key, manners=manners or Manners(), service=kind)


__all__ = [
    "DEFAULT_API_URLS",
    "MESSAGES",
    "SOLVER_KINDS",
    "CaptchaError",
    "CaptchaPipeline",
    "CaptchaSolver",
    "Manners",
    "PipelineConfig",
    "Solved",
    "TaskApiSolver",
    "TwoCaptchaSolver",
    "make_solver",
    "pipeline_size",
    "solver_error",
]
