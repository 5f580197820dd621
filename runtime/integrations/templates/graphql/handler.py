"""graphql: POST {query, variables, operationName}; GraphQL reports errors in the body, often with status 200."""

from runtime.integrations.errors import IntegrationError


def run(input, config, secrets, http):
    body = {key: input[key] for key in ("query", "variables", "operationName") if key in input}
    response = http.post(config["endpoint"], json=body, headers={"Accept": "application/json"})
    answer = response.json() if response.ok or "json" in response.headers.get("Content-Type", "") else None
    if not isinstance(answer, dict):
        response.checked()
        raise IntegrationError(f"The GraphQL endpoint answered {response.status} without a JSON object.")
    if answer.get("errors"):
        messages = "; ".join(str(e.get("message", e)) for e in answer["errors"][:3])
        raise IntegrationError(f"The GraphQL endpoint reported: {messages}")
    response.checked()
    return answer.get("data")
