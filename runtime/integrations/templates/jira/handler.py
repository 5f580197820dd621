"""jira: issue create, get and comment on /rest/api/{2|3}/issue; v3 wants texts as Atlassian Document Format."""

from urllib.parse import quote


def run(input, config, secrets, http):
    base, version = config["baseUrl"].rstrip("/"), config.get("apiVersion", "3")
    api = f"{base}/rest/api/{version}/issue"
    action = input["action"]
    if action == "create":
        fields = {"project": {"key": input["project"]}, "summary": input["summary"],
                  "issuetype": {"name": input.get("issueType", "Task")}}
        if input.get("description"):
            fields["description"] = text(input["description"], version)
        created = http.post(api, json={"fields": fields}).checked().json()
        return {"id": str(created["id"]), "key": created["key"], "url": f"{base}/browse/{created['key']}"}
    key = quote(input["issue"], safe="")
    if action == "comment":
        comment = http.post(f"{api}/{key}/comment", json={"body": text(input["comment"], version)}).checked().json()
        return {"key": input["issue"], "commentId": str(comment["id"]), "url": f"{base}/browse/{input['issue']}"}
    issue = http.get(f"{api}/{key}", params={"fields": "summary,status"}).checked().json()
    fields = issue.get("fields", {})
    return {"id": str(issue["id"]), "key": issue["key"], "url": f"{base}/browse/{issue['key']}",
            "summary": fields.get("summary", ""), "status": (fields.get("status") or {}).get("name")}


def text(value: str, version: str):
    """Plain text for v2; for v3 an Atlassian Document Format document, one paragraph per line."""
    if version == "2":
        return value
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]}
                  for line in value.splitlines() if line.strip()]
    return {"type": "doc", "version": 1, "content": paragraphs}
