"""The one expression language of Arbor: Jinja2 templates (``Hi {{ name }}``) and expressions
(``age >= 18 and country == "CZ"``) over the bot's storages, run in a sandbox (`sandbox`), and the
syntax checks and name analysis that bot validation needs (`analysis`).
"""

from .analysis import (
    check_expression,
    check_template,
    expression_names,
    expression_reads,
    template_names,
    template_reads,
)
from .sandbox import ExpressionError, evaluate, render, to_json, turn_budget
from .values import fill, strings

__all__ = ["ExpressionError", "check_expression", "check_template", "evaluate", "expression_names",
           "expression_reads", "fill", "render", "strings", "template_names", "template_reads", "to_json",
           "turn_budget"]
