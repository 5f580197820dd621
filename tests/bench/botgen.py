"""A big, realistic bot document for benchmarks, and a user who answers whatever it asks.

`generate(dialogs, steps)` makes a valid format-1 document: `dialogs` dialogs of `steps` top-level steps
each (branches add more), mixing every step type this Arbor runs, with texts that differ from step to
step as in a real bot. The dialogs form one long chain (each ends with a goto jump to the next; the last
one jumps back to the first). Every tenth dialog is a "helper" that the chain calls (goto call) from a
choice option and that returns when it ends; one dialog is the fallback. Storages are read only after
some earlier step wrote them, so the document checks without errors or warnings.

`Driver` plays the user: given the state after a turn it picks the input the waiting step wants
(a valid answer, an option, a card button, the awaited page event, a timer), so a conversation walks
the whole bot without ever being "not understood". The same driver steers the engine-only and the
store-backed benchmarks, so both run the same turns.

`loop_bot()` is the smallest bot with a real turn: question -> set -> goto back.
"""

from __future__ import annotations

import random
from collections import Counter

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
           "carousel-items": 2, "event": 9, "wait": 5}


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
        self.counter = 0

    # --- the document ------------------------------------------------------------------------

    def document(self) -> dict:
        next_in_chain = {a: b for a, b in zip(self.chain, self.chain[1:] + self.chain[:1], strict=True)}
        triggers = [{"event": "order-help", "dialog": self.ids[self.chain[0]], "storage": "order_id"}]
        self.wrote("order_id")
        dialogs = []
        for i in range(self.n):
            self.i, self.counter = i, 0
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
               "start": self.ids[self.chain[0]], "triggers": triggers, "dialogs": dialogs}
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
            if kind == "carousel-items":
                if len(out) + 2 > size or call_at in (len(out), len(out) + 1):
                    continue
                out += self.carousel_items()
            else:
                out.append(getattr(self, kind.replace("-", "_"))())
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


class Driver:
    """A user who always answers what the bot waits for; it rotates through a choice's options."""

    def __init__(self, bot):
        self.bot = bot
        self.visits: Counter = Counter()

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
        raise AssertionError(f"the driver cannot answer a {kind} step")
