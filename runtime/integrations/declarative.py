"""Declarative templates: a request made of templates over `input` (its fields also by their own names),
`config` and `secrets`, and an output mapping (JMESPath, or an expression of Arbor's expression language)
over the response.

The response is seen as `{"status", "headers", "body"}`, `body` parsed as JSON when it is JSON, else text
(an output schema that wants an object then refuses it); a status other than 2xx or one of `okStatus`
fails the call with a message that quotes it.
"""

from __future__ import annotations

from typing import Any

import jmespath

from runtime import expressions
from runtime.integrations.errors import IntegrationError


def run(spec: dict, input_: Any, config: dict, secrets: dict, http) -> Any:
    """Make the template's request with `http` (a CallHttp) and map the answer to the output."""
    fields = input_ if isinstance(input_, dict) else {}
    names = {**fields, "input": input_, "config": config, "secrets": secrets}  # `{{ email }}` reads input.email
    try:
        request = _request(spec["request"], names)
    except expressions.ExpressionError as e:
        raise IntegrationError(f"The request of '{spec['slug']}' could not be made: {e}") from None
    response = http.request(**request)
    if response.status not in spec.get("okStatus", ()):
        response.checked()
    seen = {"status": response.status, "headers": response.headers, "body": response.body()}
    return output(spec.get("mapping"), seen, names)


def _request(request: dict, names: dict) -> dict:
    def render(text: str) -> str:
        return expressions.render(text, names)

    def evaluate(source: str) -> Any:
        return expressions.evaluate(source, names)

    made: dict[str, Any] = {"method": render(request["method"]).upper(), "url": render(request["url"])}
    made["headers"] = {key: render(value) for key, value in request.get("headers", {}).items()}
    query = {key: render(value) for key, value in request.get("query", {}).items()}
    made["params"] = {key: value for key, value in query.items() if value != ""} or None
    if "json" in request:
        made["json"] = expressions.fill(request["json"], render, evaluate)
    elif "form" in request:
        made["data"] = {key: render(value) for key, value in request["form"].items()}
    return made


def output(mapping: dict | None, response: dict, names: dict) -> Any:
    """The output a mapping makes of a response ({status, headers, body}); without one, the body."""
    if not mapping:
        return response["body"]
    if "jmespath" in mapping:
        try:
            return jmespath.search(mapping["jmespath"], response)
        except jmespath.exceptions.JMESPathError as e:
            raise IntegrationError(f"The output mapping failed: {e}") from None
    try:
        return expressions.evaluate(mapping["expression"], {**names, **response})
    except expressions.ExpressionError as e:
        raise IntegrationError(f"The output mapping failed: {e}") from None
