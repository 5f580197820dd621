"""The inspector: the form of one step, made for its type (`templates/designer/steps/<type>.html`),
saved as it is edited. The form's fields are named after the step's properties; the step type's
JSON Schema says how to read each one back (`schemaform.parse`), and everything the form does not
show (branches, unknown keys) is kept.
"""

from __future__ import annotations

import json

from flask import render_template, render_template_string, request
from jinja2 import Undefined
from markupsafe import escape

from designer import bp, catalog, conditions, drafting, knows, schemaform, tree
from designer.bots import get_bot_or_404
from designer.drafting import Refused, answer, refused
from designer.labels import type_title
from runtime.botdoc import translations
from runtime.steps import STEP_TYPES
from runtime.steps import _condition_rows as condition_rows


def _form_template(kind: str) -> str:
    return f"designer/steps/{kind}.html" if kind in STEP_TYPES else "designer/steps/_unknown.html"


def _translated(doc: dict, step: dict) -> list[dict]:
    """The step's texts beside their translations, for a bot of several languages: [{"id", "field", "source",
    "cells": [(language, text, stale)]}]."""
    langs = translations.languages(doc)
    if len(langs) < 2:
        return []
    table, sources = doc.get("translations") or {}, doc.get("translationSources") or {}
    found = []
    for text_id, suffix, source in translations.step_texts(step):
        cells = []
        for lang in langs[1:]:
            made_from = (sources.get(lang) or {}).get(text_id)
            cells.append((lang, (table.get(lang) or {}).get(text_id, ""),
                          bool(made_from) and made_from != translations.source_hash(source)))
        found.append({"id": text_id, "field": suffix.strip("/").replace("/", " "), "source": source, "cells": cells,
                      "missing": any(not text for _, text, _ in cells)})
    return found


def render_inspector(bot_id: str, doc: dict, step: dict, dialog: dict, saved: bool = False) -> str:
    """The step's form; `saved`: drawn again after a change, it says so."""
    integration = None
    if step.get("type") == "integration":
        template_id = catalog.template_of(doc, step)
        schema = catalog.input_schema(template_id)
        integration = {"template": template_id, "schema": schema,
                       "params": schemaform.fields(schema, step.get("params"), "params") if schema else None,
                       "params_json": json.dumps(step.get("params") or {}, indent=2, ensure_ascii=False),
                       "samples": catalog.sample_names(step.get("params")), "storages": tree.storages(doc)}
    dialogs = [(d.get("id"), d.get("title") or d.get("id")) for d in doc.get("dialogs", [])]
    return render_template("designer/partials/_inspector.html", bot_id=bot_id, step=step, dialog=dialog,
                           translated=_translated(doc, step), languages=translations.languages(doc),
                           form_template=_form_template(step.get("type")), type_title=type_title(step.get("type")),
                           dialogs=dialogs, integration=integration, knows=knows.known(doc),
                           read_condition=condition_rows.read, operators=condition_rows.OPERATORS,
                           describe_condition=lambda expression: conditions.describe(expression, doc),
                           labels=getattr(STEP_TYPES.get(step.get("type")), "LABELS", {}),
                           integrations=sorted(doc.get("integrations") or {}),
                           fields=lambda key, value: schemaform.fields(
                               STEP_TYPES[step["type"]].SCHEMA["properties"][key],
                               None if isinstance(value, Undefined) else value, key, key),
                           raw=json.dumps(step, indent=2, ensure_ascii=False), saved=saved)


@bp.get("/bots/<bot_id>/steps/<step_id>")
def inspector(bot_id: str, step_id: str):
    get_bot_or_404(bot_id)
    doc, revision = drafting.current(bot_id)
    try:
        step, _, _, dialog = tree.locate(doc, step_id)
    except tree.EditError as e:
        return answer(str(e), status=404)
    return answer(render_inspector(bot_id, doc, step, dialog), revision)


def read_form(doc: dict, step: dict, form) -> dict:
    """The step as the posted form has it; FormError names a field that cannot be read."""
    kind = step.get("type")
    raw_action = form.get("_action", "")
    verb, _, target = raw_action.partition(":")
    action = (verb, target) if verb in ("add", "remove") else None
    if kind not in STEP_TYPES:
        return step  # an unknown type is kept exactly as it is
    if kind == "condition":  # the rows picked in the condition builder become each branch's expression
        form = conditions.form_with_expressions(doc, form)
    updated = schemaform.parse(STEP_TYPES[kind].SCHEMA, form, "", step, action, True)
    # A field the step leaves out shows its default (the executor applies it); posted back unchanged, it is not
    # written: a form saved as it was is no edit, and leaves nothing to undo.
    properties = STEP_TYPES[kind].SCHEMA["properties"]
    for key in set(updated) - set(step):
        if "default" in properties.get(key, {}) and updated[key] == properties[key]["default"]:
            del updated[key]
    if kind == "integration":
        schema = catalog.input_schema(catalog.template_of(doc, updated))
        if schema is not None and any(k.startswith("params.") for k in form):
            updated["params"] = schemaform.parse(schema, form, "params", step.get("params"), action, True)
        elif "params_json" in form:
            params = schemaform.parse({}, form, "params_json", None, None, True)
            if not isinstance(params, dict):
                raise schemaform.FormError("params_json", "The settings must be a JSON object ({...}).")
            updated["params"] = params
    return updated


@bp.post("/bots/<bot_id>/steps/<step_id>")
def inspector_save(bot_id: str, step_id: str):
    get_bot_or_404(bot_id)
    holder: dict = {}

    def change(doc: dict):
        step, items, index, dialog = tree.locate(doc, step_id, request.form.get("_dialog"))
        updated = read_form(doc, step, request.form)
        module = STEP_TYPES.get(updated.get("type"))
        holder["filled"] = module.on_edit(updated, set(tree.storages(doc))) if hasattr(module, "on_edit") else {}
        # Another integration brings another params form: the inspector is drawn again.
        holder.update(doc=doc, step=updated, dialog=dialog,
                      redraw=updated.get("type") == "integration" and updated.get("use") != step.get("use"))
        if updated == step and not request.form.get("_action"):
            return drafting.UNCHANGED
        items[index] = updated
        return None

    try:
        doc, revision, _ = drafting.edit(bot_id, "Changed a step", change)
    except schemaform.FormError as e:
        doc, _ = drafting.current(bot_id)
        return answer(f'<p class="field-error" role="alert" data-field="{escape(e.name)}">{escape(str(e))}</p>',
                      status=422)
    except Refused as e:
        return refused(e)
    step = holder["step"]
    if request.form.get("_action"):  # a list grew or shrank, or a picked value changes the form: drawn again,
        # with the step's node in the tree (out of band)
        node = render_template_string(
            '{% from "designer/partials/_node.html" import node with context %}'
            "{{ node(step, bot_id, dialog.id, step.id, place, oob=True) }}", step=step, bot_id=bot_id,
            dialog=holder["dialog"], place=str(tree.place_of(doc, step_id, holder["dialog"].get("id"))))
        return answer(render_inspector(bot_id, doc, step, holder["dialog"], saved=True) + node, revision,
                      HX_Trigger="draftChanged", HX_Retarget="#inspector", HX_Reswap="innerHTML")
    if holder["redraw"]:
        return answer(render_inspector(bot_id, doc, step, holder["dialog"]), revision, HX_Trigger="draftChanged",
                      HX_Retarget="#inspector", HX_Reswap="innerHTML")
    # A storage named here for the first time joins the picker's list.
    names = {step.get("storage"), step.get("output")} - {None, ""}
    storages = tree.storages(doc) if names else None
    body = render_template("designer/partials/_saved.html", step=step, bot_id=bot_id, dialog=holder["dialog"],
                           storages=storages, filled=holder["filled"],
                           place=str(tree.place_of(doc, step_id, holder["dialog"].get("id"))))
    return answer(body, revision, HX_Trigger="draftChanged")

