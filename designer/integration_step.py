"""The integration step's extras in the inspector: "Try this call" with sample values for the storages its
params read, and "Save as template" (an http-request step becomes an action template in the catalog)."""

from __future__ import annotations

from flask import render_template, request
from markupsafe import escape

from designer import bp, drafting, tree
from designer.bots import get_bot_or_404
from designer.catalog import sample_names
from designer.drafting import answer
from designer.inspector import read_form
from designer.schemaform import FormError
from runtime.integrations import authoring
from runtime.integrations.catalog import Rejected


def _step_and_integration(bot_id: str, step_id: str) -> tuple[dict, dict | None]:
    """The step as the inspector's form has it now, and the integration it uses."""
    doc, _ = drafting.current(bot_id)
    step, _, _, _ = tree.locate(doc, step_id, request.form.get("_dialog"))
    step = read_form(doc, step, request.form) if request.form.get("use") else step
    return step, (doc.get("integrations") or {}).get(step.get("use"))


def _status(error: Exception) -> int:
    return drafting.status_of(error) if isinstance(error, tree.EditError) else 422


@bp.post("/bots/<bot_id>/steps/<step_id>/try")
def step_try(bot_id: str, step_id: str):
    get_bot_or_404(bot_id)
    try:
        step, integration = _step_and_integration(bot_id, step_id)
    except (tree.EditError, FormError) as e:
        return answer(f'<p class="field-error" role="alert">{escape(str(e))}</p>', status=_status(e))
    if integration is None:
        return answer('<p class="field-error" role="alert">Pick one of the bot\'s integrations first.</p>', status=422)
    names = sample_names(step.get("params"))
    missing = [name for name in names if f"sample.{name}" not in request.form]
    if missing:  # the params changed since the form was drawn: ask for the new storages' values first
        return render_template("designer/partials/_try_samples.html", names=missing)
    sample = {name: request.form[f"sample.{name}"] for name in names}
    result = authoring.try_call(bot_id, integration, step.get("params") or {}, sample,
                                timeout=float(step.get("timeout") or 10))
    return render_template("designer/partials/_try_result.html", result=result)


@bp.post("/bots/<bot_id>/steps/<step_id>/save-template")
def step_save_template(bot_id: str, step_id: str):
    get_bot_or_404(bot_id)
    form = request.form
    try:
        step, integration = _step_and_integration(bot_id, step_id)
        if integration is None:
            raise Rejected("Pick one of the bot's integrations first.")
        template = authoring.save_as_template(integration, step.get("params") or {},
                                              slug=form.get("new_template_slug", "").strip(),
                                              title=form.get("new_template_title", "").strip()[:200] or "Saved call",
                                              description=form.get("new_template_description", "").strip()[:2000]
                                              or "A saved HTTP call.")
    except (tree.EditError, FormError, Rejected) as e:
        return answer(f'<p class="field-error" role="alert">{escape(str(e))}</p>', status=_status(e))
    fields = escape(", ".join(template.spec["input"]["properties"]) or "none")  # names the editor typed
    return answer(f'<p class="ok" role="status" data-testid="template-saved">Saved as the template '
                  f'“{escape(template.title)}” ({escape(template.slug)}); its form asks for: {fields}. '
                  'It is in the catalog now.</p>')
