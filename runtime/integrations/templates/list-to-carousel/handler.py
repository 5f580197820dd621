"""list-to-carousel: a JSON list to cards, each field picked by a JMESPath the bot's author sets."""

import jmespath

from runtime.integrations.errors import IntegrationError

FIELDS = ("title", "subtitle", "image", "value", "link")


def run(input, config, secrets, http):
    answer = http.get(config["url"], params=input.get("query"), headers={"Accept": "application/json"}).checked()
    try:
        items = jmespath.search(config["list"], answer.json()) if config.get("list") else answer.json()
        paths = {name: jmespath.compile(config[name]) for name in FIELDS if config.get(name)}
    except jmespath.exceptions.JMESPathError as e:
        raise IntegrationError(f"A field path of the integration's settings is not valid: {e}") from None
    if not isinstance(items, list):
        raise IntegrationError(f"The answer of {config['url']} holds no list at '{config.get('list') or '@'}'.")
    cards = []
    for item in items[: config.get("max", 10)]:
        card = {name: path.search(item) for name, path in paths.items()}
        cards.append({name: str(value) for name, value in card.items() if value not in (None, "")})
    return [card for card in cards if card.get("title")]
