"""http-request: any method, headers, query and JSON or form body; the output is status, headers and body."""


def run(input, config, secrets, http):
    url = input["url"]
    if not url.startswith(("http://", "https://")):
        url = config.get("baseUrl", "").rstrip("/") + "/" + url.lstrip("/")
    response = http.request(input.get("method", "GET"), url, headers=input.get("headers"),
                            params=input.get("query"), json=input.get("json"), data=input.get("form"))
    if input.get("failOnError", True):
        response.checked()
    return {"status": response.status, "headers": response.headers, "body": response.body()}
