"""Carrying out the integration calls turns ask for: sync ones now, async ones on RQ.

`now` and `queued` are the after-commit handlers of `integration.call` (`runtime.turns.effects`), registered by
the package's `init_app`. A sync call is made in the request and its result applied as the next turn of the
conversation (owed through the turns' outbox: a worker makes it if the request's process died first, and the
result's turn, keyed by the effect, is applied once), which may ask for another call: at most MAX_CHAINED in a
row per request, then the conversation is left waiting (its next message after the timeout follows onError) and
the log says why. An async call is queued (`run_async`); when it is done its output is written to the step's storage,
or its onError is followed: `flag` sets the storage, `dialog` starts the dialog (the user sees it at
once in the webchat), `fail` is only logged, the conversation having gone on.

An async call is made at least once, not exactly once. Its job has RQ retries (RETRY): a job that raises, or
whose worker (or work horse) dies mid-call, is run again later, and the outside API may then see the same
request twice; a call that *answered* with an error is not retried, it follows onError at once. When the last
try fails too, the job's failure callback (`given_up`) follows onError exactly as a failed call does and
writes an integration-log row saying the call was given up and why. RQ calls that callback on every failed
try, before it decides to retry; it acts only when no retry is left.

An integration that acts for the user (`oauth2-authorization-code`) calls with the user's own token, refreshed
when it is about to expire (`sign_in.access_token`). When the user has none, a sync call's step gets a sign-in
button to show (`signIn` in its result) instead of a plain failure. A `sign-in` step's effect (`signIn` set)
makes no call: it asks whether the user has a token, and gets the button when they have not.
"""

from __future__ import annotations

import contextvars
import json
import logging

from rq import Callback, Retry, get_current_job
from rq.exceptions import AbandonedJobError

from runtime.extensions import db
from runtime.integrations import auth as auth_
from runtime.integrations import get as integrations
from runtime.integrations import sign_in
from runtime.integrations.calls import CallResult, home, perform
from runtime.integrations.errors import IntegrationError
from runtime.jobs import enqueue, in_app
from runtime.steps._sign_in import WAIT as SIGN_IN_WAIT  # an integration step's sign-in button lasts this
from runtime.steps.base import Input
from runtime.store import integration_log
from runtime.store import secrets as bot_secrets
from runtime.store.models import BotUser, utcnow
from runtime.store.retry import in_transaction
from runtime.turns import outbox
from runtime.turns.effects import Committed
from runtime.turns.turn import ConversationNotFound, handle

log = logging.getLogger(__name__)

MAX_CHAINED = 10
RETRY = Retry(max=3, interval=[10, 60, 300])  # an async call's job: 4 tries in all, over about 6 minutes
_chained = contextvars.ContextVar("arbor_chained_calls", default=0)


def in_request(conversation, effect: dict) -> bool:
    """Whether the call is made in the request that ran its turn (a sync call, a sign-in check)."""
    return bool(effect.get("signIn")) or effect["timing"] == "sync"


def on_queue(conversation, effect: dict) -> bool:
    return not in_request(conversation, effect)


def now(committed: Committed, effect: dict) -> list[dict]:
    """After-commit handler of sync calls and sign-in checks, durable and `own_turn`: made at once by the process
    that ran the turn, whose reply waits for it (or by a worker, if that process died first); the result is applied
    as a turn that names the effect (its client key) and removes its outbox row, so it is applied once, however
    often the call is made. The activities of that turn."""
    conversation, done = committed.conversation, committed.effect_id
    if effect.get("signIn"):
        return handle(conversation.id, Input.result(effect["step"], _signed_in(conversation, effect)),
                      client_key=f"effect:{done}", alongside=lambda connection: outbox.done_in(connection, done))
    return _sync(conversation, effect, done)


def queued(committed: Committed, effect: dict) -> None:
    """After-commit handler of async calls (durable): queue the job, named by the effect's id, so that an effect
    carried out again queues the same job."""
    _enqueue(committed.conversation, effect, committed.effect_id)


def _sync(conversation, effect: dict, effect_id: str) -> list[dict]:
    depth = _chained.get()
    if depth >= MAX_CHAINED:
        log.error("bot %s, conversation %s, step %s: more than %d integration calls one after another in one "
                  "request (a loop?); the conversation waits for the user.", conversation.bot_id, conversation.id,
                  effect["step"], MAX_CHAINED)
        in_transaction(lambda: outbox.done_in(db.session.connection(), effect_id))  # not to be made later either
        return []
    result, rows = _call(conversation.bot_id, conversation.user_id, conversation.id, effect, effect_id)
    value = result.as_input()
    if result.signed_out:
        value.update(_offer(conversation, effect, SIGN_IN_WAIT))
    token = _chained.set(depth + 1)
    try:  # the log rows commit with the result's turn: one transaction, not two
        return handle(conversation.id, Input.result(effect["step"], value), client_key=f"effect:{effect_id}",
                      alongside=lambda connection: (integration_log.insert(connection, rows),
                                                    outbox.done_in(connection, effect_id)))
    finally:
        _chained.reset(token)


def _signed_in(conversation, effect: dict) -> dict:
    """A sign-in step's check: `ok` when the user has a live token (refreshed if need be), else a button."""
    try:
        sign_in.access_token(integrations().services.http, conversation.bot_id, conversation.user_id, effect["use"],
                             effect["integration"])
        return {"ok": True}
    except sign_in.SignInNeeded:
        return _offer(conversation, effect, effect.get("seconds") or SIGN_IN_WAIT)
    except (IntegrationError, bot_secrets.SecretMissing) as e:
        return {"ok": False, "error": str(e)}


def _offer(conversation, effect: dict, seconds: int) -> dict:
    """The sign-in button's address for the step, or why there can be none."""
    try:
        offered = sign_in.offer(integrations().services.http, conversation.bot_id, conversation.id,
                                conversation.user_id, effect["step"], effect["use"], effect["integration"], seconds)
    except IntegrationError as e:
        return {"ok": False, "error": str(e)}
    return {"ok": False, "error": "The user has not signed in.", "signIn": {**offered, "seconds": seconds}}


def call(bot_id: str, user_id: str | None, conversation_id: str | None, effect: dict,
         effect_id: str | None = None) -> CallResult:
    """Make the call an effect describes, log every exchange (redacted), and return the result."""
    result, rows = _call(bot_id, user_id, conversation_id, effect, effect_id)
    integration_log.write(rows)
    return result


def _call(bot_id: str, user_id: str | None, conversation_id: str | None, effect: dict,
          effect_id: str | None = None) -> tuple[CallResult, list]:
    """The call's result and its integration-log rows, not yet written. A call owed by a turn (`effect_id`) sends
    its Idempotency-Key, the same on every try."""
    integration, service = effect["integration"], integrations()
    template = service.catalog.get(integration["template"])
    if template is None:
        result = CallResult(False, error=f"The integration template '{integration['template']}' is not installed "
                                         "(or is disabled) on this server.")
    else:
        try:
            secrets = resolve_secrets(bot_id, integration)
            kind = (integration.get("auth") or {}).get("type")
            user_data = _user_data(bot_id, user_id) if kind == "user-token" else {}
            user_token = sign_in.access_token(service.services.http, bot_id, user_id, effect["use"], integration) \
                if kind == sign_in.KIND else None
            result = perform(template, integration, effect["input"], secrets=secrets, user_data=user_data,
                             services=service.services, timeout=effect["timeout"], user_token=user_token,
                             idempotency_key=idempotency_key(effect_id))
        except sign_in.SignInNeeded as e:
            result = CallResult(False, error=str(e), signed_out=True)
        except (bot_secrets.SecretMissing, IntegrationError) as e:
            result = CallResult(False, error=str(e))
    return result, log_rows(bot_id, user_id, conversation_id, effect["step"], result)


def idempotency_key(effect_id: str | None) -> str | None:
    """The Idempotency-Key of the call an effect owes: its id, which every try of that effect shares and no
    other call has (docs/integrations.md)."""
    return f"arbor-{effect_id}" if effect_id else None


def resolve_secrets(bot_id: str, integration: dict) -> dict[str, str]:
    """The integration's secrets by the names its template and auth use; SecretMissing for one not set, or bound
    to another address than the integration's own."""
    mapping = integration.get("secrets") or {}
    for name in auth_.secret_names(integration.get("auth")):
        if name not in mapping:
            raise bot_secrets.SecretMissing(bot_id, f"(the '{name}' of the integration's auth)")
    if (integration.get("auth") or {}).get("type") == sign_in.KIND:  # its client secret goes to the token URL only
        mapping = {name: secret for name, secret in mapping.items() if name != "clientSecret"}

    def by_key(values: dict[str, str]) -> dict[str, str]:
        return {name: values[secret] for name, secret in mapping.items()}

    config = integration.get("config") or {}
    return by_key(bot_secrets.values(bot_id, set(mapping.values()), home=lambda values: home(config, by_key(values))))


def log_rows(bot_id: str, user_id: str | None, conversation_id: str | None, step_id: str | None,
             result: CallResult) -> list[dict]:
    """The integration-log rows of a call: one per exchange, or one saying why no request was made."""
    rows = result.exchanges or [{"url": "", "method": "", "error": result.error}]
    if not result.ok and result.exchanges and not result.exchanges[-1].get("error"):
        rows[-1] = {**rows[-1], "error": result.error}  # the call failed after its last exchange (output check)
    now = utcnow()
    return [{"bot_id": bot_id, "user_id": user_id, "conversation_id": conversation_id, "step_id": step_id,
             "timestamp": now, **row} for row in rows]


def _user_data(bot_id: str, user_id: str | None) -> dict:
    user = db.session.get(BotUser, (bot_id, user_id), populate_existing=True) if user_id else None
    return dict(user.data) if user else {}


def _enqueue(conversation, effect: dict, effect_id: str) -> None:
    """Queue the call; the job's description names no input (RQ logs it, and inputs hold personal data)."""
    enqueue("runtime.integrations.runner.run_async", conversation.bot_id, conversation.user_id, conversation.id,
            json.dumps(effect), effect_id, description=f"integration '{effect['use']}' of step {effect['step']}",
            retry=RETRY, on_failure=Callback("runtime.integrations.runner.given_up"), job_id=f"call-{effect_id}")


@in_app
def run_async(bot_id: str, user_id: str, conversation_id: str, effect_json: str, effect_id: str | None = None
              ) -> bool:
    """The RQ job of an async call: call, then write the output or follow onError. Whether the call worked.
    `effect_id` (absent from jobs queued before it was added) gives the call its Idempotency-Key."""
    effect = json.loads(effect_json)
    job = get_current_job()
    if job is not None:  # counted before the call: a try killed mid-call counts too
        job.meta["tries"] = job.meta.get("tries", 0) + 1
        job.save_meta()
    result = call(bot_id, user_id, conversation_id, effect, effect_id)
    if result.ok:
        if effect.get("output"):
            _store(bot_id, user_id, effect["output"], result.output)
    else:  # (a sync call's failure is logged by its turn, as the step's error)
        follow_on_error(bot_id, user_id, conversation_id, effect, result.error)
    return result.ok


@in_app
def given_up(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's failure callback of `run_async`: after the last try, log that the call was given up and follow
    onError. RQ calls it on every failed try before it decides whether to retry (the worker when the job
    raised, `StartedJobRegistry.cleanup` when the worker running it died); either way it retries only when
    `retries_left` is above 0, so this acts only when it is not."""
    job.get_meta(refresh=True)  # the tries counted so far (a work horse's parent holds, and saves, an older copy)
    if job.retries_left:
        return
    bot_id, user_id, conversation_id, effect_json = job.args[:4]
    effect = json.loads(effect_json)
    tries = job.meta.get("tries") or 1
    if exc_type is None or issubclass(exc_type, AbandonedJobError):
        why = "the worker running it stopped before the call ended"
    else:
        why = f"the job raised {exc_type.__name__} (the worker's log has the traceback)"
    error = f"Given up after {tries} {'try' if tries == 1 else 'tries'}: {why}."
    integration_log.write([{"bot_id": bot_id, "user_id": user_id, "conversation_id": conversation_id,
                            "step_id": effect["step"], "timestamp": utcnow(), "url": "", "method": "",
                            "error": error}])
    follow_on_error(bot_id, user_id, conversation_id, effect, error)


def follow_on_error(bot_id: str, user_id: str, conversation_id: str, effect: dict, error: str | None) -> None:
    """An async call failed (or was given up): `flag` sets the storage, `dialog` starts the dialog, `fail`
    is only logged (the conversation has gone on)."""
    on_error = effect.get("onError") or {"action": "fail"}
    log.warning("bot %s, conversation %s, step %s: async integration '%s' failed (onError %s): %s", bot_id,
                conversation_id, effect["step"], effect["use"], on_error["action"], error)
    if on_error["action"] == "flag" and on_error.get("storage"):
        _store(bot_id, user_id, on_error["storage"], True)
    elif on_error["action"] == "dialog":
        try:
            handle(conversation_id, Input.trigger(on_error["dialog"]))
        except ConversationNotFound:
            log.warning("conversation %s is gone; the dialog '%s' was not started", conversation_id,
                        on_error["dialog"])


def _store(bot_id: str, user_id: str, storage: str, value) -> None:
    def write() -> None:
        user = db.session.get(BotUser, (bot_id, user_id), populate_existing=True)
        if user is not None:
            user.data = {**user.data, storage: value}

    in_transaction(write)
