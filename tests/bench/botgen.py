"""A big, realistic bot document for benchmarks, and a user who answers whatever it asks.

`generate(dialogs, steps)` makes a valid format-1 document: `dialogs` dialogs of `steps` top-level steps
each (branches add more), mixing every step type this Arbor runs, with texts that differ from step to
step as in a real bot. The dialogs form one long chain (each ends with a goto jump to the next; the last
one jumps back to the first). Every tenth dialog is a "helper" that the chain calls (goto call) from a
choice option and that returns when it ends; one dialog is the fallback. Storages are read only after
some earlier step wrote them, so the document checks without errors or warnings.

Steps that reach outside the engine do so as a real bot's would, through effects: integration steps call
the integrations the document configures (catalog templates: a CRM, a shop's REST API, Slack, a webhook;
sync ones wait for their result, async ones do not), dataset-query steps look up the `branches` and
`products` datasets (`DATASETS`, the rows a store-backed run loads), e-mail and SMS steps queue messages,
and clear-data forgets the user's answers but keeps the contact storages (`CONTACT`), the only ones
integration, e-mail and SMS steps ever read outright.

`Driver` plays the user: given the state after a turn it picks the input the waiting step wants
(a valid answer, an option, a card button, the awaited page event, a timer, a FAQ question), so a
conversation walks the whole bot without ever being "not understood". `Driver.outside` plays the outside
world at once and without a network: an integration's canned answer (a pure function of the call, so the
engine and a store-backed run get the same), the rows of a dataset. `settle` completes a turn as the store
does (inline effects answered, then each sync call's result applied as the next turn). The same driver
steers the engine-only and the store-backed benchmarks, so both run the same turns.

`loop_bot()` is the smallest bot with a real turn: question -> set -> goto back.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable

from runtime import engine
from runtime.steps.base import Input

TOPICS = [
    "order", "delivery", "refund", "invoice", "account", "password", "subscription", "warranty",
    "repair", "appointment", "insurance", "mortgage", "loan", "savings", "card", "transfer",
    "booking", "ticket", "parking", "tariff", "roaming", "internet", "upgrade", "voucher",
    "membership", "newsletter", "complaint", "return", "exchange", "installation", "pickup", "gift",
    "rental", "lease", "claim", "payment", "pension", "course", "exam", "visit",
]
ADJECTIVES = ["new", "current", "recent", "monthly", "yearly", "express", "standard", "premium",
              "family", "business", "student", "online"]
CITIES = ["Prague", "Brno", "Ostrava", "Plzen", "Liberec", "Olomouc", "Vienna", "Berlin", "Warsaw"]
PRODUCTS = ["Lumen lamp", "Aero kettle", "Nimbus chair", "Orbit speaker", "Pixel frame", "Terra pot",
            "Vega watch", "Zephyr fan", "Atlas backpack", "Quill pen", "Cobalt mug", "Delta drone"]
FACTS = [
    "our {t} team answers within {n} hours",
    "you can change your {t} online any time before {n}:00",
    "{n} out of 10 customers manage their {t} in the app",
    "a {a} {t} costs nothing extra in the first {n} days",
    "the {a} {t} plan was updated {n} days ago",
    "we keep {t} records for {n} months",
    "most {t} questions are solved in under {n} minutes",
    "branches open at {n}:00 for {t} questions",
]
INTROS = ["Good to know:", "Tip:", "By the way,", "Just so you know,", "Quick note:", "Did you know?",
          "Heads up:", "One more thing:"]

# question kinds: (validate, storages it may fill, question texts, pattern)
QUESTIONS = [
    ("text", ["name", "city", "company", "street", "feedback"],
     ["What is your {s} for the {t}?", "Please tell me your {s} (for the {a} {t}).",
      "Could you type your {s}? I need it for the {t}."], None),
    ("email", ["email", "work_email"],
     ["Which e-mail should we use for the {t}?", "Where should I send the {a} {t} confirmation?"], None),
    ("phone", ["phone"], ["What number can our {t} team call you on?"], None),
    ("number", ["age", "quantity", "budget", "rating", "household"],
     ["How many do you need for the {t}? ({s})", "What is your {s}? Just the number, please.",
      "On a scale of 1 to 10, your {s} for the {a} {t}?"], None),
    ("date", ["birthday", "delivery_date", "appointment_day"],
     ["Which day suits you for the {t}? ({s})", "When is your {s}? (e.g. 31.1.2025)"], None),
    ("regex", ["order_id"], ["What is your {t} number? It looks like AB1234."], "[A-Z]{2}[0-9]{4}"),
    ("regex", ["postcode"], ["What is your postcode for the {t}?"], "[0-9]{3} ?[0-9]{2}"),
]
ANSWERS = {"text": "Alice Novak", "email": "alice@example.com", "phone": "+420 777 123 456",
           "number": "7", "date": "31.1.2025", "[A-Z]{2}[0-9]{4}": "AB1234", "[0-9]{3} ?[0-9]{2}": "110 00"}
WEIGHTS = {"message": 28, "question": 16, "set": 11, "condition": 10, "choice": 10, "carousel": 3,
           "carousel-items": 2, "event": 9, "wait": 5, "integration": 3, "faq": 1, "email": 1, "sms": 1,
           "branch-finder": 1, "product-finder": 1, "lead-handoff": 1}
COMPOSITES = {"carousel-items": 2, "integration": 2, "branch-finder": 3, "product-finder": 2, "lead-handoff": 3}
"""Kinds that make several top-level steps: at most this many."""

CONTACT = ("name", "email", "phone", "order_id")
"""Storages clear-data keeps, so integration, e-mail and SMS steps may read them outright (once a question
every conversation passes has asked for them)."""

CITY_PLACES = {"Prague": (50.0755, 14.4378), "Brno": (49.1951, 16.6068), "Ostrava": (49.8209, 18.2625),
               "Plzen": (49.7384, 13.3736), "Liberec": (50.7663, 15.0543), "Olomouc": (49.5938, 17.2509),
               "Vienna": (48.2082, 16.3738), "Berlin": (52.5200, 13.4050), "Warsaw": (52.2297, 21.0122)}
STREETS = ["Main Street", "Market Square", "Station Road", "Park Lane", "River Walk", "Castle Hill", "Mill Street"]
BRANCH_TAGS = ["atm", "advisor", "parking", "wheelchair", "open-saturday", "exchange"]
CATEGORIES = ["home", "kitchen", "garden", "office", "travel", "sport"]

INTEGRATIONS = {
    "crm": {"template": "crm-add-contact", "config": {"baseUrl": "https://crm.example.com/api/v1"},
            "auth": {"type": "bearer"}, "secrets": {"token": "crm-token"}},
    "shop": {"template": "http-request", "config": {"baseUrl": "https://shop.example.com/api"},
             "auth": {"type": "api-key", "in": "header", "name": "X-Api-Key"}, "secrets": {"apiKey": "shop-api-key"}},
    "team-chat": {"template": "slack-post-message", "secrets": {"webhookUrl": "slack-webhook"}},
    "zapier": {"template": "webhook", "config": {"url": "https://hooks.zapier.com/hooks/catch/123456/abcdef/"}},
}
SECRETS = {"crm-token": "bench-crm-token", "shop-api-key": "bench-shop-key",
           "slack-webhook": "https://hooks.slack.com/services/T000/B000/XXXX"}
"""The bot secrets INTEGRATIONS name, for a store-backed run to set."""
SECRET_ADDRESSES = {"crm-token": INTEGRATIONS["crm"]["config"]["baseUrl"],
                    "shop-api-key": INTEGRATIONS["shop"]["config"]["baseUrl"],
                    "slack-webhook": SECRETS["slack-webhook"]}
"""The address each secret is bound to: its integration's own (a Slack webhook's is the secret itself)."""

# FAQ entries: (question, phrasings, answer); {t} is the dialog's topic
FAQ = [
    ("How much does the {t} cost?", ["{t} price", "what is the price of the {t}"],
     "The {a} {t} starts at {n}9 CZK a month; the first {n} days are free."),
    ("When is the {t} desk open?", ["{t} opening hours", "are you open on sunday"],
     "Our {t} desk is open on weekdays from {n}:00 to 18:00."),
    ("How do I cancel my {t}?", ["cancel {t}", "i want to stop the {t}"],
     "You can cancel the {t} online under My account, or reply CANCEL to our last e-mail."),
    ("Can I change my {t} online?", ["change the {t} on the web"],
     "Yes: sign in, open the {t} and choose Change. It takes about {n} minutes."),
    ("How long does the {t} take?", ["{t} duration", "how many days for the {t}"],
     "Usually {n} working days; we send you an e-mail when it is done."),
    ("Where do I find my {t} number?", ["lost my {t} number"],
     "It is at the top of every {t} e-mail, and in the app under History."),
    ("Do you offer the {t} in {c}?", ["{t} in {c}"],
     "Yes, in {c} and {n} other cities."),
    ("Is there a student discount on the {t}?", ["{t} discount for students"],
     "Students get {n}% off the {a} {t} with a valid ISIC card."),
    ("Who do I call about the {t}?", ["{t} phone number", "talk to a person about the {t}"],
     "Call +420 800 {n}00 {n}0{n} on weekdays, or ask here to be passed to a colleague."),
    ("Can I pay for the {t} by card?", ["card payment for the {t}"],
     "Yes, by card, bank transfer or Apple Pay."),
    ("What documents do I need for the {t}?", ["{t} paperwork"],
     "Only an ID card; we fill in the rest with you."),
    ("Is my data safe when I order the {t}?", ["{t} privacy"],
     "We keep {t} data in the EU for {n} months and never sell it."),
]


def generate(dialogs: int = 1000, steps: int = 20, *, seed: int = 1) -> dict:
    """A valid format-1 bot of `dialogs` dialogs x `steps` top-level steps (branches come on top)."""
    if dialogs < 1 or steps < 4:
        raise ValueError("at least 1 dialog of 4 steps")
    return _Generator(dialogs, steps, random.Random(seed)).document()


def loop_bot() -> dict:
    """The smallest bot with a real turn: ask, count, ask again."""
    return {"format": 1, "id": "bench-loop", "name": "Bench loop", "start": "loop", "dialogs": [
        {"id": "loop", "steps": [
            {"id": "ask", "type": "question", "text": "Say something.", "storage": "last"},
            {"id": "count", "type": "set", "storage": "count", "value": "(count or 0) + 1"},
            {"id": "again", "type": "goto", "dialog": "loop"},
        ]},
    ]}


def count_steps(doc: dict) -> Counter:
    """Steps of the document by type, branches included."""
    from runtime.botdoc import walk
    return Counter(step["type"] for _, step, _ in walk.steps(doc))


def texts_of(doc: dict) -> list[str]:
    """Every text a bot author wrote (messages, questions, choices, cards, option titles)."""
    from runtime.botdoc import walk
    found = []
    for _, step, _ in walk.steps(doc):
        found += [step[k] for k in ("text", "retry", "empty") if isinstance(step.get(k), str)]
        found += [o["title"] for o in step.get("options", [])]
        for card in step.get("cards", []):
            found += [card[k] for k in ("title", "subtitle", "text") if k in card]
    return found


class _Generator:
    def __init__(self, dialogs: int, steps: int, rng: random.Random):
        self.n, self.steps, self.rng = dialogs, steps, rng
        self.topic = [f"{TOPICS[i % len(TOPICS)]}" for i in range(dialogs)]
        self.ids = [f"{self.topic[i]}-{i:04d}" for i in range(dialogs)]
        self.fallback = dialogs - 2 if dialogs >= 3 else None
        self.helpers = {i for i in range(dialogs) if i % 10 == 9 and i != self.fallback}
        self.chain = [i for i in range(dialogs) if i not in self.helpers and i != self.fallback]
        self.written: list[str] = []  # storages some earlier step sets, in order, no duplicates
        # CONTACT storages a question of the chain has asked for: every conversation has them from there on
        # (clear-data keeps them), so they may be read where an empty value is an error (a call's input)
        self.sure: list[str] = []
        self.in_chain = False
        self.counter = 0

    # --- the document ------------------------------------------------------------------------

    def document(self) -> dict:
        next_in_chain = {a: b for a, b in zip(self.chain, self.chain[1:] + self.chain[:1], strict=True)}
        triggers = [{"event": "order-help", "dialog": self.ids[self.chain[0]], "storage": "order_id"}]
        self.wrote("order_id")
        dialogs = []
        chain = set(self.chain)
        for i in range(self.n):
            self.i, self.counter, self.in_chain = i, 0, i in chain
            if i == self.fallback:
                body = self.fallback_steps()
            elif i in self.helpers:
                body = self.body(self.steps - 1, calls=None)
                body.append(self.message(f"That is all about the {self.t()}. Back to where we were."))
            else:
                helper = i + 9 if i % 10 == 0 and i + 9 in self.helpers else None
                body = self.body(self.steps - 1, calls=helper)
                body.append(self.step("goto", dialog=self.ids[next_in_chain[i]], mode="jump"))
            dialogs.append({"id": self.ids[i], "title": f"{self.t().title()} #{i}", "steps": body})
        doc = {"format": 1, "id": "bench-big", "name": f"Benchmark bot ({self.n} dialogs)", "locale": "en",
               "start": self.ids[self.chain[0]], "triggers": triggers, "integrations": INTEGRATIONS,
               "dialogs": dialogs}
        if self.helpers:
            first = min(self.helpers)
            doc["triggers"].append({"event": "open-help", "dialog": self.ids[first], "mode": "call"})
        if self.fallback is not None:
            doc["fallback"] = self.ids[self.fallback]
        return doc

    def body(self, size: int, calls: int | None) -> list[dict]:
        """`size` top-level steps: a greeting, a question, then a weighted mix; a helper's caller offers
        the helper in a choice (as its first option)."""
        out = [self.message(self.greeting()), self.question()]
        call_at = self.rng.randrange(2, size) if calls is not None and size > 2 else None
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        while len(out) < size:
            if len(out) == call_at:
                out.append(self.choice(calls))
                continue
            kind = self.rng.choices(kinds, weights)[0]
            made = COMPOSITES.get(kind)
            if made and (len(out) + made > size or call_at in range(len(out), len(out) + made)):
                continue
            steps = getattr(self, kind.replace("-", "_"))()
            out += steps if isinstance(steps, list) else [steps]
        return out

    def fallback_steps(self) -> list[dict]:
        out = [self.message("Sorry, I did not quite get that.")]
        self.wrote("misses")
        out.append(self.step("set", storage="misses", value="(misses or 0) + 1"))
        while len(out) < self.steps:
            out.append(self.rng.choice([self.message, self.set, self.condition, self.event])())
        return out

    # --- steps -------------------------------------------------------------------------------

    def step(self, type_: str, **fields) -> dict:
        self.counter += 1
        return {"id": f"d{self.i:04d}-{self.counter:03d}", "type": type_, **fields}

    def message(self, text: str | None = None) -> dict:
        step = self.step("message", text=text or self.sentence())
        if self.rng.random() < 0.08:
            step["buttons"] = [{"title": f"Read about {self.t()}s", "url": f"https://example.com/{self.t()}"}]
        return step

    def question(self) -> dict:
        kind, storages, texts, pattern = self.rng.choice(QUESTIONS)
        storage = self.rng.choice(storages)
        step = self.step("question", text=self.fill(self.rng.choice(texts), s=storage.replace("_", " ")),
                         storage=storage)
        if kind != "text" or self.rng.random() < 0.3:
            step["validate"] = "regex" if pattern else kind
        if pattern:
            step["pattern"] = pattern
        if self.rng.random() < 0.4:
            step["retry"] = f"Sorry, that does not look like a {storage.replace('_', ' ')}. Once more?"
        self.wrote(storage)
        if self.in_chain and storage in CONTACT and storage not in self.sure:
            self.sure.append(storage)
        return step

    def set(self) -> dict:
        options = [("visits", "(visits or 0) + 1"), ("score", f"(score or 0) + {self.rng.randint(1, 9)}"),
                   (f"seen_{self.t()}", "true"), ("last_topic", f'"{self.t()}"'),
                   ("total", f"(quantity or 1) * {self.rng.randint(5, 500)}.{self.rng.randint(0, 99):02d}")]
        storage, value = self.rng.choice(options)
        self.wrote(storage)
        return self.step("set", storage=storage, value=value)

    def condition(self) -> dict:
        r = self.rng
        tests = [("visits", f"(visits or 0) > {r.randint(1, 5)}"),
                 ("age", f"(age or 0) >= {r.choice([18, 21, 65])}"),
                 ("city", f'city == "{r.choice(CITIES)}"'),
                 ("score", f"(score or 0) >= {r.randint(5, 40)}"),
                 ("last_topic", f'last_topic in ["{self.t()}", "{r.choice(TOPICS)}"]'),
                 ("email", "email and email.endswith('.com')"),
                 ("rating", f"(rating or 0) >= {r.randint(3, 8)}"),
                 ("quantity", f"(quantity or 0) * 2 > {r.randint(3, 20)}")]
        known = [test for name, test in tests if name in self.written]
        if not known:
            return self.set()
        step = self.step("condition", branches=[])
        for _ in range(r.choice([1, 1, 1, 2])):
            step["branches"].append({"when": r.choice(known),
                                     "steps": [r.choice([self.message, self.set, self.event])()]})
        if r.random() < 0.4:
            step["else"] = [self.message()]
        return step

    def choice(self, calls: int | None = None) -> dict:
        t = self.t()
        titles = self.rng.sample([f"Track my {t}", f"Change the {t}", f"Cancel the {t}",
                                  f"{t.title()} prices", f"Talk to our {t} expert",
                                  f"My {self.rng.choice(ADJECTIVES)} {t}", "Something else",
                                  "Show me the options"], self.rng.randint(2, 4))
        options = []
        for n, title in enumerate(titles):
            option: dict = {"title": title}
            if self.rng.random() < 0.5:
                option["value"] = f"{t}-{n}"
            shape = self.rng.random()
            if shape < 0.2:
                option["steps"] = [self.message()]
            elif shape < 0.3:
                option["steps"] = [self.set(), self.message()]
            elif shape < 0.35:
                option["steps"] = [self.event(), self.message()]
            options.append(option)
        if calls is not None:  # first, so the driver takes it on the first visit
            options.insert(0, {"title": f"Help with my {t}", "value": f"help-{calls}", "steps": [
                self.message(f"Let me explain the {self.topic[calls]} in more detail."),
                self.step("goto", dialog=self.ids[calls], mode="call")]})
        if self.rng.random() < 0.1:
            options.append({"title": "Close the chat", "steps": [
                self.message("Goodbye, and thank you!"), self.step("event", name="close-chat"),
                self.step("end")]})
        storage = self.rng.choice(["topic", f"choice_{t}", None])
        step = self.step("choice", text=self.fill(self.rng.choice([
            "What would you like to do about your {t}?", "How can I help with the {a} {t}?",
            "Pick one for your {t}, please.", "Your {t}: what next?"])), options=options)
        if storage:
            step["storage"] = storage
            self.wrote(storage)
        return step

    def carousel(self) -> dict:
        products = self.rng.sample(PRODUCTS, self.rng.randint(2, 3))
        cards = []
        for name in products:
            price = self.rng.randint(9, 999)
            slug = name.lower().replace(" ", "-")
            card = {"title": name, "subtitle": f"{price} CZK, {self.rng.choice(ADJECTIVES)} edition",
                    "image": f"https://example.com/img/{slug}.png",
                    "buttons": [{"title": f"Choose {name}", "value": f"sku-{slug}"}]}
            if self.rng.random() < 0.3:
                card["buttons"].append({"title": "Details", "url": f"https://example.com/p/{price}"})
            cards.append(card)
        step = self.step("carousel", text=self.fill("These fit your {t}:"), cards=cards)
        if self.rng.random() < 0.7:
            step["storage"] = "product"
            self.wrote("product")
        return step

    def carousel_items(self) -> list[dict]:
        offers = [{"title": f"{self.rng.choice(ADJECTIVES).title()} {self.t()} {k + 1}",
                   "sku": f"{self.t()}-{self.rng.randint(100, 999)}",
                   "price": self.rng.randint(10, 900)} for k in range(self.rng.randint(2, 5))]
        value = "[" + ", ".join(f'{{"title": "{o["title"]}", "sku": "{o["sku"]}", "price": {o["price"]}}}'
                                for o in offers) + "]"
        self.wrote("offers")
        self.wrote("offer")
        return [self.step("set", storage="offers", value=value),
                self.step("carousel", text=self.fill("Offers for your {t}" + (
                    "{{{{ ', ' ~ name if name }}}}:" if "name" in self.written else ":")),
                          items="offers", storage="offer",
                          card={"title": "{{ item.title }}", "subtitle": "{{ item.price }} CZK a month",
                                "buttons": [{"title": "Take {{ item.title }}", "value": "{{ item.sku }}"}]},
                          empty="No offers right now.")]

    def event(self) -> dict:
        value: dict = {"section": self.t(), "step": self.counter + 1}
        if "order_id" in self.written:
            value["order"] = "{{ order_id }}"
        return self.step("event", name=f"show-{self.t()}", value=value)

    def wait(self) -> dict:
        t = self.t()
        if self.rng.random() < 0.15:
            return self.step("wait", timeout=self.rng.choice([30, 60, 300]),
                             onTimeout=[self.message(f"Still there? Take your time with the {t}.")])
        step = self.step("wait", events=[f"{t}-done", f"{t}-cancelled"],
                         onEvent=[self.message(f"Thanks, your {t} is through.")])
        if self.rng.random() < 0.5:
            step["timeout"] = self.rng.choice([120, 600, 3600])
            step["onTimeout"] = [self.message(f"The {t} page timed out; shall we try again later?")]
        return step

    def integration(self) -> list[dict]:
        """A call through one of the document's integrations: save the contact to the CRM, look the user's
        orders up in the shop's API (sync, the answer used in the next message), tell the team on Slack or
        a Zapier hook (async: the conversation does not wait)."""
        t, r = self.t(), self.rng
        shapes = ["team-chat", "zapier", "shop"] + (["crm", "crm"] if {"name", "email"} <= set(self.sure) else [])
        shape = r.choice(shapes)
        if shape == "crm":
            self.wrote("contact")
            self.wrote("crm_failed")
            call = self.step("integration", use="crm", output="contact", timeout=5, params={
                "name": "{{ name }}", "email": "{{ email }}", "note": self.fill("Asked about the {a} {t} in the chat")},
                onError={"action": "flag", "storage": "crm_failed",
                         "message": "I could not save your details just now, but we can go on."})
            return [call, self.message(self.fill("Thanks{{{{ ', ' ~ name if name }}}}! Our {t} team has you as "
                                                 "contact {{{{ contact.id }}}}."))]
        if shape == "shop":
            who = "{{ email }}" if "email" in self.sure else "{{ user.id }}"
            self.wrote("lookup")
            call = self.step("integration", use="shop", output="lookup", params={
                "url": f"/{t}s", "method": "GET", "query": {"customer": who, "status": r.choice(["open", "all"])}},
                onError={"action": "flag", "storage": "shop_down"})
            self.wrote("shop_down")
            return [call, self.message(self.fill(
                "You have {{{{ lookup.body.count }}}} {t}s with us; the latest is {{{{ lookup.body.latest }}}}."))]
        if shape == "team-chat":
            text = self.fill("A visitor is asking about the {a} {t} (conversation {{{{ user.id }}}})")
            if "name" in self.sure:
                text += ": {{ name }}"
            return [self.step("integration", use="team-chat", timing="async", params={"text": text + "."})]
        data: dict = {"event": f"{t}-interest", "topic": t, "visitor": "{{ user.id }}"}
        data.update({name: f"{{{{ {name} }}}}" for name in self.sure if name in ("email", "phone")})
        return [self.step("integration", use="zapier", timing=r.choice(["async", "background"]),
                          params={"data": data})]

    def faq(self) -> dict:
        """A topic's FAQ: a handful of questions with their other phrasings, matched by words."""
        r, t = self.rng, self.t()
        entries = r.sample(FAQ, r.randint(5, 9))
        n, c = r.randint(2, 9), r.choice(CITIES)
        questions = []
        for k, (question, phrasings, answer) in enumerate(entries):
            item = {"question": question.format(t=t, c=c),
                    "answer": answer.format(t=t, a=r.choice(ADJECTIVES), n=n, c=c)}
            kept = r.sample(phrasings, r.randint(0, len(phrasings)))
            if kept:
                item["phrasings"] = [p.format(t=t, c=c) for p in kept]
            if r.random() < 0.3:
                item["id"] = f"{t}-{k}"
            questions.append(item)
        if "name" in self.written:
            questions[0]["answer"] += "{% if name %} Anything else, {{ name }}?{% endif %}"
        step = self.step("faq", text=self.fill(r.choice(["Ask me anything about the {t}.",
                                                           "What would you like to know about the {a} {t}?",
                                                           "Questions about your {t}? Type one."])),
                         questions=questions)
        if r.random() < 0.3:
            step["threshold"] = r.choice([70, 80])
        if r.random() < 0.4:
            step["storage"] = "faq_intent"
            self.wrote("faq_intent")
        return step

    def email(self) -> dict:
        """A summary to the user (once the chain has asked for the address), else a note to the team."""
        r, t = self.rng, self.t()
        details = "".join(f"\n{name.replace('_', ' ').capitalize()}: {{{{ {name} or '-' }}}}"
                          for name in r.sample(self.written, min(len(self.written), r.randint(1, 4))))
        if "email" in self.sure and r.random() < 0.6:
            greeting = "Hello {{ name or 'there' }}," if "name" in self.written else "Hello,"
            return self.step("email", to="{{ email }}", subject=self.fill("Your {t} summary"),
                             body=self.fill(greeting + "\n\nthank you for asking about the {a} {t}. "
                                            "This is what we noted:" + details + "\n\nThe {t} team"),
                             replyTo=f"{t}@example.com")
        step = self.step("email", to=f"{t}@example.com", subject=self.fill("Chat: a question about the {a} {t}"),
                         body="A visitor left these details in the chat:" + details)
        if "email" in self.sure:
            step["replyTo"] = "{{ email }}"
        return step

    def sms(self) -> dict:
        """A confirmation to the user's phone (once the chain has asked for it), else a ping to the team."""
        if "phone" in self.sure and self.rng.random() < 0.7:
            hello = "Hi{{ ' ' ~ name if name }}, " if "name" in self.written else "Hi, "
            return self.step("sms", to="{{ phone }}", text=hello + self.fill(
                "your {t} request is confirmed. Details: https://example.com/{t}/status Reply STOP to opt out."))
        return self.step("sms", to=f"+420 800 123 {self.rng.randint(100, 999)}; +420 800 123 999",
                         text=self.fill("New {a} {t} request in the chat; please pick it up in the console."))

    def branch_finder(self) -> list[dict]:
        """Where is the nearest branch: the user picks a city (the page would send a place), the branches
        near it are looked up in the `branches` dataset and offered as cards."""
        r = self.rng
        cities = r.sample(list(CITY_PLACES), r.randint(2, 4))
        options = [{"title": city, "steps": [self.step("set", storage="location", value=(
            f"{{'latitude': {CITY_PLACES[city][0]}, 'longitude': {CITY_PLACES[city][1]}}}"))]} for city in cities]
        for name in ("branch_city", "location", "branches", "branch"):
            self.wrote(name)
        ask = self.step("choice", text=self.fill("Which city should I look in for a branch ({t})?"),
                        options=options, storage="branch_city")
        tags = ["branch", *r.sample(BRANCH_TAGS, r.choice([0, 0, 1]))]
        query = self.step("dataset-query", dataset="branches", tags=tags,
                          near={"storage": "location", **({"radiusKm": r.choice([10, 25, 50])}
                                                          if r.random() < 0.7 else {})},
                          sort={"by": "distance"}, limit=r.choice([3, 5]), storage="branches")
        cards = self.step("carousel", text="The branches nearest to you:", items="branches", storage="branch",
                          card={"title": "{{ item.name }}", "subtitle": "{{ item.address }} ({{ item.distanceKm }} km)",
                                "text": "Open {{ item.opens }}",
                                "buttons": [{"title": "Book a visit", "value": "{{ item.key }}"},
                                            {"title": "Directions",
                                             "url": "https://maps.example.com/?q={{ item.key }}"}]},
                          empty="Sorry, there is no such branch near {{ branch_city }}.")
        return [ask, query, cards]

    def product_finder(self) -> list[dict]:
        """Products of a category from the `products` dataset, cheapest (or dearest) first, as cards."""
        r = self.rng
        category = r.choice(CATEGORIES)
        tags = [category, "sale"] if r.random() < 0.3 else [category]
        self.wrote("deals")
        self.wrote("deal")
        query = self.step("dataset-query", dataset="products", tags=tags, limit=r.randint(3, 6),
                          sort={"by": "field", "field": "price", "order": r.choice(["asc", "desc"])}, storage="deals")
        cards = self.step("carousel", text=self.fill(f"Our {category} picks for your {{t}}:"), items="deals",
                          storage="deal", card={"title": "{{ item.name }}", "subtitle": "{{ item.price }} CZK",
                                                "buttons": [{"title": "Add to cart", "value": "{{ item.key }}"}]},
                          empty="Nothing on offer right now.")
        return [query, cards]

    def lead_handoff(self) -> list[dict]:
        """A lead goes to the sales team by e-mail, then the answers are forgotten but the contact kept."""
        t = self.t()
        details = "".join(f"\n{name.replace('_', ' ').capitalize()}: {{{{ {name} or '-' }}}}"
                          for name in self.written[-6:])
        mail = self.step("email", to=f"sales@example.com; {t}@example.com",
                         subject=f"New {t} lead{{{{ ': ' ~ name if name }}}}"
                         if "name" in self.written else f"New {t} lead",
                         body=f"A visitor asked about the {t} in the chat.{details}")
        if "email" in self.sure:
            mail["replyTo"] = "{{ email }}"
        keep = [name for name in CONTACT if name in self.written]
        forget = self.step("clear-data", **({"keep": keep} if keep else {}))
        return [mail, forget, self.message(f"I have passed your {t} request on to our sales team and forgot your "
                                           "answers; only your contact details are kept.")]

    # --- texts -------------------------------------------------------------------------------

    def t(self) -> str:
        return self.topic[self.i]

    def fill(self, text: str, **extra) -> str:
        return text.format(t=self.t(), a=self.rng.choice(ADJECTIVES), **extra)

    def greeting(self) -> str:
        if "name" in self.written and self.rng.random() < 0.5:
            return self.fill("Hello again{{{{ ', ' ~ name if name }}}}! Let us talk about your {t}.")
        return self.fill(self.rng.choice(["Welcome to {t} help.", "Let us sort out your {a} {t}.",
                                          "This is the {t} desk."]))

    def sentence(self) -> str:
        fact = self.rng.choice(FACTS).format(t=self.t(), a=self.rng.choice(ADJECTIVES),
                                             n=self.rng.randint(2, 48))
        text = f"{self.rng.choice(INTROS)} {fact}."
        usable = [n for n in ("name", "city", "quantity", "total", "order_id", "email") if n in self.written]
        if usable and self.rng.random() < 0.35:
            name = self.rng.choice(usable)
            label = name.replace("_", " ")
            text += self.rng.choice([f" (Noted: {{{{ {name} }}}}.)",
                                     f" We have {{{{ {name} or 'nothing yet' }}}} on file.",
                                     f"{{% if {name} %}} Your {label}: {{{{ {name} }}}}.{{% endif %}}"])
        return text

    def wrote(self, storage: str) -> None:
        if storage not in self.written:
            self.written.append(storage)


def dataset_rows() -> dict[str, list[dict]]:
    """The rows of the datasets the generated bot queries, as a push to the datasets API gives them ({key,
    fields, tags, latitude, longitude}): branches in every city of CITY_PLACES, products in every category."""
    rng = random.Random(2)
    branches = []
    for city, (lat, lon) in CITY_PLACES.items():
        for k in range(8):
            street = rng.choice(STREETS)
            branches.append({"key": f"{city.lower()}-{k + 1}", "fields": {
                                 "name": f"{city} {street}", "address": f"{street} {rng.randint(1, 120)}, {city}",
                                 "opens": rng.choice(["8:00-17:00", "9:00-18:00", "8:30-16:30"])},
                             "tags": ["branch", *rng.sample(BRANCH_TAGS, rng.randint(1, 3))],
                             "latitude": round(lat + rng.uniform(-0.08, 0.08), 5),
                             "longitude": round(lon + rng.uniform(-0.12, 0.12), 5)})
    products = []
    for category in CATEGORIES:
        for k in range(10):
            products.append({"key": f"{category}-{k + 1}", "fields": {
                                 "name": f"{rng.choice(ADJECTIVES).title()} {rng.choice(PRODUCTS)}",
                                 "price": rng.randint(99, 9_999)},
                             "tags": [category, *(["sale"] if rng.random() < 0.4 else [])]})
    return {"branches": branches, "products": products}


def set_up_store(bot_id: str) -> None:
    """What a store-backed run of a generated bot needs besides the document (in an app context, the bot
    imported): its datasets' rows, the secrets of its integrations, an SMTP server and an SMS provider (the
    e-mails and SMS are queued, and no worker sends them)."""
    from runtime.datasets import store as datasets
    from runtime.management import settings
    from runtime.store.secrets import set_secret

    for name, rows in dataset_rows().items():
        datasets.replace(datasets.define(bot_id, name), datasets.parse_rows(rows))
    for name, value in SECRETS.items():
        set_secret(bot_id, name, value, bound_to=SECRET_ADDRESSES[name])
    settings.set_smtp(bot_id, host="smtp.example.com", username="bot", password="bench", sender="bot@example.com")
    settings.set_sms(bot_id, account="AC-bench", token="bench", sender="+420 800 100 100")


def call_output(template: str, input_) -> dict:
    """What the outside system answers a call of `template` with: made up, and a pure function of the
    input, so an engine-only and a store-backed run of the same turns get the same answer."""
    seed = zlib.crc32(repr(input_).encode())
    if template == "crm-add-contact":
        return {"id": f"c-{seed % 1_000_000:06d}"}
    if template == "http-request":
        return {"status": 200, "headers": {"Content-Type": "application/json"},
                "body": {"count": seed % 5 + 1, "latest": f"#{seed % 90_000 + 10_000}"}}
    if template == "slack-post-message":
        return {"ok": True}
    return {"status": 202}


class Outside:
    """The world outside the engine, answering at once: integration calls (`call_output`) and dataset
    queries (over `dataset_rows`, as `runtime.datasets.query` finds them). `busy` is the time spent answering,
    for a benchmark to leave out of the engine's."""

    def __init__(self):
        self.rows = dataset_rows()
        self.busy = 0.0

    def __call__(self, effect: dict):
        started = time.perf_counter()
        try:
            if effect["type"] == "dataset.query":
                return self.query(effect)
            return {"ok": True, "output": call_output(effect["integration"]["template"], effect["input"]),
                    "error": None}
        finally:
            self.busy += time.perf_counter() - started

    def query(self, effect: dict) -> list[dict]:
        items = [{**row["fields"], **{k: v for k, v in row.items() if k != "fields"}}  # as the step gets a row
                 for row in self.rows[effect["dataset"]] if set(effect["tags"]) <= set(row["tags"])]
        if effect.get("near"):
            for item in items:
                item["distanceKm"] = round(_distance_km(*effect["near"], item["latitude"], item["longitude"]), 3)
            items = [i for i in items if i["distanceKm"] <= (effect.get("radiusKm") or 20_016)]
            items.sort(key=lambda i: i["distanceKm"], reverse=effect["order"] == "desc")
        if effect.get("sortBy") == "field":
            items.sort(key=lambda i: i.get(effect["field"]), reverse=effect["order"] == "desc")
        return items[:effect["limit"]]


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


INLINE = frozenset({"dataset.query"})
"""Effects the store carries out inside the turn (`runtime.turns.turn`: the in-turn answers)."""


def settle(bot, result: engine.TurnResult, answer: Callable[[dict], object], *, user: dict,
           now) -> tuple[engine.TurnResult, int]:
    """The turn as the store completes it before answering: each inline effect answered (`answer(effect)`)
    and fed back to the engine, as `runtime.turns.turn._settle` does; then each sync integration call's
    result applied as the next turn, settled in turn, as the store's integration runner does after the
    commit. Returns the whole result (activities and logs of every turn, in order) and the number of
    turns the results added (each one more inbound activity in the store's transcript)."""
    while True:
        effect = next((e for e in result.effects if e.get("type") in INLINE), None)
        if effect is None:
            break
        follow = engine.turn(bot, result.state, result.data, Input.result(effect["step"], answer(effect)),
                             user=user, now=now)
        result = _joined(result, follow, [e for e in result.effects if e is not effect])
    added = 0
    for call in [e for e in result.effects if e["type"] == "integration.call" and e["timing"] == "sync"]:
        follow = engine.turn(bot, result.state, result.data, Input.result(call["step"], answer(call)),
                             user=user, now=now)
        follow, more = settle(bot, follow, answer, user=user, now=now)
        result, added = _joined(result, follow, result.effects), added + 1 + more
    return result, added


def _joined(first: engine.TurnResult, then: engine.TurnResult, effects: list[dict]) -> engine.TurnResult:
    return engine.TurnResult(activities=first.activities + then.activities, effects=effects + then.effects,
                             logs=first.logs + then.logs, visited=first.visited + then.visited,
                             state=then.state, data=then.data)


def unexpected(logs: list[dict]) -> list[dict]:
    """A turn's log entries other than FAQ matches that found their answer: errors, "not understood"."""
    return [entry for entry in logs if not (entry.get("kind") == "faq-match" and entry.get("matched"))]


class Driver:
    """A user who always answers what the bot waits for; it rotates through a choice's options and a FAQ's
    questions. `outside` answers what the bot asks of the world outside (see `settle`)."""

    def __init__(self, bot):
        self.bot = bot
        self.visits: Counter = Counter()
        self.outside = Outside()

    def settle(self, result: engine.TurnResult, *, user: dict, now) -> engine.TurnResult:
        """`settle` with the outside world answering."""
        return settle(self.bot, result, self.outside, user=user, now=now)[0]

    def next_input(self, state: dict) -> Input:
        waiting = state.get("waiting")
        if not waiting:
            return Input.message("hi")  # ended: the next message starts the bot again
        step = self.bot.steps[waiting["step"]]
        kind, seen = step["type"], self.visits[step["id"]]
        self.visits[step["id"]] += 1
        if kind == "question":
            return Input.message(ANSWERS[step.get("pattern") or step.get("validate", "text")])
        if kind == "choice":
            options = [o for o in step["options"] if not any(s["type"] == "end" for s in o.get("steps", ()))]
            return Input.message(options[seen % len(options)]["title"])
        if kind == "carousel":
            buttons = waiting["memo"]["buttons"]
            return Input.message(value=buttons[seen % len(buttons)][0])
        if kind == "wait":
            return Input.event(step["events"][0]) if step.get("events") else Input.timeout(step["id"])
        if kind == "faq":  # a question as people type it: lower case, no question mark
            question = step["questions"][seen % len(step["questions"])]
            asked = [question["question"], *question.get("phrasings", ())]
            return Input.message(asked[seen // len(step["questions"]) % len(asked)].lower().rstrip("?"))
        if kind in ("integration", "dataset-query"):
            raise AssertionError(f"a {kind} step waits for the outside world, not the user: settle the turn")
        raise AssertionError(f"the driver cannot answer a {kind} step")
