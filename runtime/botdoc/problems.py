"""What validation finds: a place in the document (JSON Pointer) and what to change there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    pointer: str
    message: str
    severity: str = "error"  # or "warning": the bot runs, but probably not as meant

    def __str__(self) -> str:
        return f"{self.severity}: {self.pointer or '/'}: {self.message}"


class DocumentError(ValueError):
    """A bot document that cannot be used; ``problems`` says every place and what to change."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "invalid bot document")


def pointer(parts) -> str:
    """A JSON Pointer (RFC 6901) for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
