"""rest-resource: the usual REST mapping of actions to methods on a collection and its items."""

from urllib.parse import quote

from runtime.integrations.errors import IntegrationError

METHODS = {"list": "GET", "get": "GET", "create": "POST", "update": "PATCH", "replace": "PUT", "delete": "DELETE"}
ON_ITEM = {"get", "update", "replace", "delete"}


def run(input, config, secrets, http):
    action = input["action"]
    url = f"{config['baseUrl'].rstrip('/')}/{input['resource'].strip('/')}"
    if action in ON_ITEM:
        if input.get("id") in (None, ""):
            raise IntegrationError(f"The action '{action}' needs the record's id.")
        url += "/" + quote(str(input["id"]), safe="")
    body = input.get("body") if action in ("create", "update", "replace") else None
    response = http.request(METHODS[action], url, params=input.get("query"), json=body).checked()
    return response.json()
