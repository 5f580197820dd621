"""hubspot: CRM objects v3, /crm/v3/objects/{objectType}[/{id}|/search]."""

from urllib.parse import quote


def run(input, config, secrets, http):
    kind = input.get("objectType", "contacts")
    api = f"{config.get('baseUrl', 'https://api.hubapi.com').rstrip('/')}/crm/v3/objects/{kind}"
    action, fields = input["action"], input.get("fields")
    if action == "search":
        filters = [{"propertyName": name, "operator": "EQ", "value": str(value)}
                   for name, value in input["search"].items()]
        body = {"filterGroups": [{"filters": filters}], **({"properties": fields} if fields else {})}
        found = http.post(f"{api}/search", json=body).checked().json()
        return {"total": found.get("total", 0), "results": [record(r) for r in found.get("results", [])]}
    if action == "create":
        return record(http.post(api, json={"properties": input["properties"]}).checked().json())
    url = f"{api}/{quote(input['id'], safe='')}"
    if action == "update":
        return record(http.patch(url, json={"properties": input.get("properties", {})}).checked().json())
    return record(http.get(url, params={"properties": ",".join(fields)} if fields else None).checked().json())


def record(found: dict) -> dict:
    return {"id": str(found["id"]), "properties": found.get("properties", {})}
