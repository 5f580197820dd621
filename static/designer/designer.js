/* Arbor designer: the glue htmx does not give — draft revisions, conflicts, sign-in in place,
   drag and drop (SortableJS), the add-step menu, template previews and the preview panel. */
(function () {
  'use strict';
  const body = () => document.body;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // An error answer is HTML (what it quotes of the input escaped), swapped in next to a form: as a toast or a
  // banner, which show text, it is shown as what it reads.
  function plain(html) {
    return new DOMParser().parseFromString(html, 'text/html').body.textContent;
  }

  function toast(message, kind) {
    let box = document.getElementById('toasts');
    const el = document.createElement('div');
    el.className = 'toast ' + (kind || '');
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    el.textContent = message;
    box.append(el);
    setTimeout(() => el.remove(), kind === 'error' ? 9000 : 3500);
  }

  function setCsrf(token) {
    document.querySelector('meta[name="csrf-token"]').content = token;
    body().setAttribute('hx-headers', JSON.stringify({'X-CSRFToken': token}));
    document.querySelectorAll('input[name="csrf_token"]').forEach((i) => { i.value = token; });
  }

  // Every request names the draft revision the page shows; answers carry the new one.
  document.addEventListener('htmx:configRequest', (event) => {
    if (body().dataset.revision) event.detail.headers['X-Draft-Revision'] = body().dataset.revision;
  });
  document.addEventListener('htmx:afterRequest', (event) => {
    const xhr = event.detail.xhr;
    const revision = xhr && xhr.getResponseHeader('X-Draft-Revision');
    if (revision) {
      body().dataset.revision = revision;
      document.querySelectorAll('[data-revision-field]').forEach((i) => { i.value = revision; });
      // Undo is offered only when the draft has a change to take back (selecting a step saves nothing).
      const undo = document.querySelector('[data-testid="undo"]');
      const undoable = xhr.getResponseHeader('X-Draft-Undo');
      if (undo && undoable) {
        const label = JSON.parse(undoable);
        undo.disabled = !label;
        undo.title = label ? 'Undo: ' + label : 'Nothing to undo';
      }
    }
  });

  let pending = null; // the request refused for an ended session, sent again after sign-in
  document.addEventListener('htmx:beforeSwap', (event) => {
    const xhr = event.detail.xhr;
    if (xhr.status === 401 && xhr.getResponseHeader('X-Signin-Required')) {
      event.detail.shouldSwap = false;
      setCsrf(xhr.getResponseHeader('X-CSRF-Token'));
      pending = {elt: event.detail.requestConfig.elt, verb: event.detail.requestConfig.verb,
        path: event.detail.requestConfig.path, target: event.detail.target,
        values: event.detail.requestConfig.parameters};
      const dialog = document.getElementById('signin-dialog');
      if (!dialog.open) dialog.showModal();
    } else if (xhr.status >= 400 && event.detail.target && event.detail.target.hasAttribute('data-errors-here')) {
      event.detail.shouldSwap = true; event.detail.isError = false; // the message belongs next to the form
    } else if (xhr.status === 409) {
      event.detail.shouldSwap = false;
      const banner = document.getElementById('conflict');
      banner.querySelector('.message').textContent = plain(xhr.responseText);
      banner.hidden = false;
    } else if (xhr.status === 422 && event.detail.target && event.detail.target.id === 'inspector-status') {
      event.detail.shouldSwap = true; event.detail.isError = false;
    } else if (xhr.status >= 400) {
      event.detail.shouldSwap = false;
      toast(plain(xhr.responseText) || 'That did not work.', 'error');
    }
  });

  document.addEventListener('submit', async (event) => {
    if (event.target.id === 'step-form') { // Enter in a field saves; the form never navigates
      event.preventDefault();
      saveStep(event.target);
      return;
    }
    if (event.target.id !== 'signin-inline') return;
    event.preventDefault();
    const form = event.target;
    const data = new URLSearchParams(new FormData(form));
    data.set('csrf_token', csrf());
    const response = await fetch('/designer/signin', {method: 'POST', body: data,
      headers: {'X-Signin-Inline': '1', 'X-CSRFToken': csrf()}});
    const answer = await response.json().catch(() => ({ok: false, error: 'Sign-in failed.'}));
    const error = form.querySelector('.field-error');
    if (!answer.ok) { error.textContent = answer.error; error.hidden = false; return; }
    setCsrf(answer.csrf);
    error.hidden = true;
    form.closest('dialog').close();
    if (pending) {
      const again = pending;
      pending = null;
      htmx.ajax(again.verb.toUpperCase(), again.path, {source: again.elt, target: again.target,
        values: again.values, swap: 'innerHTML'});
    }
  });

  /* ----- the tree ----- */
  function sortables(root) {
    if (!window.Sortable) return;
    root.querySelectorAll('ol.steps').forEach((list) => {
      if (list._sortable) return;
      list._sortable = Sortable.create(list, {group: 'steps', handle: '.handle', animation: 120, forceFallback: true,
        fallbackOnBody: true, swapThreshold: 0.6, emptyInsertThreshold: 24,
        onEnd: (event) => {
          if (event.from === event.to && event.oldIndex === event.newIndex) return;
          const step = event.item.dataset.step;
          htmx.ajax('POST', `/designer/bots/${body().dataset.bot}/steps/${encodeURIComponent(step)}/move`,
            {target: '#tree', swap: 'outerHTML', source: document.getElementById('tree'),
              values: {place: event.to.dataset.place, index: event.newIndex, dialog: treeDialog()}});
        }});
    });
    root.querySelectorAll('[data-sortable-dialogs]').forEach((list) => {
      if (list._sortable) return;
      list._sortable = Sortable.create(list, {handle: '.handle', animation: 120,
        onEnd: () => htmx.trigger(list, 'reordered')});
    });
  }
  const treeDialog = () => (document.getElementById('tree') || {dataset: {}}).dataset.dialog || '';

  function openMenu(place, index) {
    const menu = document.getElementById('step-menu');
    menu.querySelector('[name=place]').value = place;
    menu.querySelector('[name=index]').value = index;
    menu.querySelector('[name=dialog]').value = treeDialog();
    menu.showModal();
    menu.querySelector('.menu-item').focus();
  }

  document.addEventListener('click', (event) => {
    const add = event.target.closest('.add-here, .add-after');
    if (add) {
      let index = add.dataset.index;
      if (add.dataset.after) {
        const li = document.getElementById('node-' + add.dataset.after);
        index = [...li.parentElement.children].indexOf(li) + 1;
      }
      openMenu(add.dataset.place, index);
      return;
    }
    const twisty = event.target.closest('.twisty');
    if (twisty) {
      const open = twisty.getAttribute('aria-expanded') !== 'true';
      twisty.setAttribute('aria-expanded', String(open));
      twisty.closest('.node').classList.toggle('collapsed', !open);
      return;
    }
    const select = event.target.closest('.select');
    if (select) {
      document.querySelectorAll('.row.selected').forEach((r) => r.classList.remove('selected'));
      select.closest('.row').classList.add('selected');
    }
    const jump = event.target.closest('[data-jump-step]');
    if (jump && jump.dataset.jumpStep && jump.dataset.jumpDialog === treeDialog()) {
      const node = document.getElementById('node-' + jump.dataset.jumpStep);
      if (node) {
        event.preventDefault();
        node.scrollIntoView({block: 'center', behavior: 'smooth'});
        node.querySelector('.select').click();
        node.querySelector('.select').focus();
      }
    }
    if (event.target.closest('[data-open-preview]')) openPreview();
    if (event.target.closest('[data-restart-preview]')) startPreview();
    if (event.target.closest('[data-close-preview]')) closePreview();
  });

  // Problems: mark the nodes they concern.
  function markProblems() {
    document.querySelectorAll('.row.has-problem').forEach((r) => { r.classList.remove('has-problem'); r.removeAttribute('data-problem'); });
    document.querySelectorAll('#problems li.problem').forEach((p) => {
      const node = p.dataset.step && document.getElementById('node-' + p.dataset.step);
      if (node) {
        const row = node.querySelector('.row');
        row.classList.add('has-problem', p.classList.contains('error') ? 'error' : 'warning');
        row.title = p.dataset.message;
      }
    });
  }

  // Text templates: show {{ storage }} as chips under the field.
  function previewTemplate(area) {
    const box = area.closest('label').nextElementSibling;
    if (!box || !box.classList.contains('template-preview')) return;
    box.replaceChildren();
    const text = area.value;
    if (!text.includes('{{')) { box.hidden = true; return; }
    box.hidden = false;
    text.split(/(\{\{.*?\}\})/).forEach((part) => {
      const m = part.match(/^\{\{\s*(.*?)\s*\}\}$/);
      const el = document.createElement(m ? 'span' : 'span');
      if (m) { el.className = 'chip'; el.textContent = m[1]; } else { el.textContent = part; }
      box.append(el);
    });
  }
  // The step form saves once per burst of typing (0.7 s after the last key), or at once when a field is left.
  let saveTimer = null;
  // htmx wires a swapped-in form's hx-trigger only when it settles (20 ms later, longer on a busy machine); a
  // field left before that would trigger 'save' with nobody listening, so the form is processed first (a no-op
  // once htmx has done it).
  const saveStep = (form) => { clearTimeout(saveTimer); saveTimer = null; htmx.process(form); htmx.trigger(form, 'save'); };
  // The Insert menu under a text: what the bot knows (the inspector's #knows list), put in as {{ name }} where the
  // cursor was, so nobody types Jinja; the preview shows it as a chip.
  function fillInsertMenus(root) {
    const knows = document.getElementById('knows');
    if (!knows) return;
    (root || document).querySelectorAll('select[data-insert]').forEach((menu) => {
      if (menu.options.length > 1) return;
      knows.querySelectorAll('option').forEach((o) => menu.append(new Option(o.label, o.value)));
    });
  }
  function insertKnown(menu) {
    const area = menu.closest('form').querySelector(`textarea[name="${CSS.escape(menu.dataset.insert)}"]`);
    if (!area || !menu.value) return;
    const text = `{{ ${menu.value} }}`;
    const [start, end] = area._caret || [area.value.length, area.value.length];
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    menu.value = '';
    area.focus();
    area.setSelectionRange(start + text.length, start + text.length);
    area._caret = [start + text.length, start + text.length];
    area.dispatchEvent(new Event('input', {bubbles: true}));
  }
  document.addEventListener('focusout', (event) => {
    if (event.target.matches('textarea[data-template]')) event.target._caret = [event.target.selectionStart, event.target.selectionEnd];
  });
  // A pick that changes the form itself (the condition builder's lists, "Write it as an expression" unticked): the
  // form is saved and drawn again at once, with `_action` saying why; focus stays on the field that had it when the
  // new form came (the one tabbed to, or the one picked in).
  function redraw(field) {
    const form = field.closest('form');
    clearTimeout(saveTimer); saveTimer = null;
    let name = field.name;
    const remember = () => { if (document.activeElement && document.activeElement.name) name = document.activeElement.name; };
    document.addEventListener('htmx:beforeSwap', remember, {once: true});
    htmx.ajax('POST', form.getAttribute('hx-post'), {source: form, target: '#inspector-status', swap: 'innerHTML',
      values: {_action: field.dataset.redraw || field.dataset.redrawUnticked}}).then(() => {
      const again = document.querySelector(`#step-form [name="${CSS.escape(name)}"]`);
      if (again) again.focus();
    });
  }
  document.addEventListener('input', (event) => {
    if (event.target.matches('select[data-insert], [data-redraw], [data-redraw-unticked]:not(:checked)')) return; // on change
    if (event.target.matches('textarea[data-template]')) previewTemplate(event.target);
    if (event.target.matches('[data-preview-language]')) startPreview(); // the visitor's language: a new conversation
    const form = event.target.closest('#step-form');
    if (form && event.target.name) {
      clearTimeout(saveTimer);
      saveTimer = setTimeout(() => saveStep(form), 700);
    }
  });
  document.addEventListener('change', (event) => {
    if (event.target.matches('select[data-insert]')) { insertKnown(event.target); return; }
    if (event.target.matches('#step-form [data-redraw]')) { redraw(event.target); return; }
    // "Write it as an expression" unticked: the rows are read from what was typed (ticked, the field is there)
    if (event.target.matches('#step-form [data-redraw-unticked]:not(:checked)')) { redraw(event.target); return; }
    const form = event.target.closest('#step-form');
    if (form && event.target.name && saveTimer) saveStep(form);
  });
  // Leaving the page with a change not yet sent: send it first.
  window.addEventListener('beforeunload', () => {
    const form = document.getElementById('step-form');
    if (form && saveTimer) saveStep(form);
  });

  function settle(root) {
    sortables(root || document);
    markProblems();
    (root || document).querySelectorAll('textarea[data-template]').forEach(previewTemplate);
    fillInsertMenus(root);
    highlight();
  }
  document.addEventListener('htmx:afterSettle', (event) => settle(event.detail.elt && event.detail.elt.parentElement));
  document.addEventListener('htmx:oobAfterSwap', () => settle(document));
  // The agent console is live: the server says when what the page shows changed (server-sent events), and the
  // partials listening for `arbor-live` fetch what is new at once.
  // The visitor typing shows for a few seconds after each `typing` event, and goes when their message comes.
  const live = document.querySelector('[data-live]');
  if (live && window.EventSource) {
    const events = new EventSource(live.dataset.live);
    // Open means the server listens for this page already (it answers only once it does): tests wait for it.
    events.addEventListener('open', () => { live.dataset.listening = 'true'; });
    events.addEventListener('error', () => { delete live.dataset.listening; });
    const typing = document.getElementById('visitor-typing');
    let typingTimer;
    const showTyping = (on) => {
      clearTimeout(typingTimer);
      if (typing) typing.hidden = !on;
      if (on) typingTimer = setTimeout(() => showTyping(false), 6000);
    };
    events.addEventListener('changed', () => {
      showTyping(false);
      document.body.dispatchEvent(new CustomEvent('arbor-live'));
    });
    events.addEventListener('typing', () => showTyping(true));
  }
  // The agent console's transcript stays scrolled to its newest message as messages arrive.
  const toEnd = () => { const log = document.getElementById('transcript'); if (log) log.scrollTop = log.scrollHeight; };
  document.addEventListener('htmx:oobAfterSwap', (event) => { if (event.detail.target.id === 'transcript') toEnd(); });
  document.addEventListener('DOMContentLoaded', toEnd);
  let focusInspector = false;
  document.addEventListener('selectStep', (event) => {
    const node = document.getElementById('node-' + event.detail.value);
    if (!node) return;
    focusInspector = true;
    node.scrollIntoView({block: 'nearest'});
    node.querySelector('.select').click();
  });
  document.addEventListener('htmx:afterSettle', (event) => {
    if (!focusInspector || !event.detail.target || event.detail.target.id !== 'inspector') return;
    focusInspector = false;
    const first = event.detail.target.querySelector('#step-form textarea, #step-form input:not([type=hidden]), #step-form select');
    if (first) first.focus();
  });
  document.addEventListener('DOMContentLoaded', () => {
    settle(document);
    const selected = document.querySelector('.row.selected');
    if (selected) selected.scrollIntoView({block: 'center'});
    setTimeout(() => document.querySelectorAll('.toasts > .toast').forEach((t) => t.remove()), 6000);
  });

  /* ----- preview ----- */
  let chat = null;
  let conversation = null;
  let poller = null;
  let atStep = null;

  function openPreview() {
    document.getElementById('preview').hidden = false;
    document.body.classList.add('previewing');
    if (!chat) startPreview();
  }
  function closePreview() {
    document.getElementById('preview').hidden = true;
    document.body.classList.remove('previewing');
  }
  async function startPreview() {
    const bot = body().dataset.bot;
    const state = document.getElementById('preview-state');
    const picked = document.querySelector('[data-preview-language]');
    const language = picked ? picked.value : '';
    const response = await fetch(`/designer/bots/${bot}/preview?language=${encodeURIComponent(language)}`,
      {method: 'POST', headers: {'X-CSRFToken': csrf()}});
    const answer = await response.json().catch(() => ({error: 'The preview could not start.'}));
    if (!response.ok) { state.textContent = answer.error || 'Sign in again to try the bot.'; return; }
    if (chat) chat.destroy();
    document.getElementById('chat-box').replaceChildren();
    chat = Arbor.webchat({bot, server: location.origin, token: answer.token, container: '#chat-box', draft: true,
      title: 'Preview of the draft', open: true, locale: language || undefined});
    conversation = answer.conversationId;
    const own = chat.root && chat.root.querySelector('[data-testid="arbor-restart"]');
    if (own) own.addEventListener('click', (e) => { e.stopImmediatePropagation(); startPreview(); }, true);
    clearInterval(poller);
    poller = setInterval(pollState, 10000); // a safety net: the chat's own activities bring the state at once
    pollState();
  }
  // The step reached and what the bot knows follow the chat: fetched as soon as the widget shows a reply.
  window.addEventListener('arbor:activities', (event) => { if (event.detail.chat === chat) pollState(); });
  let asked = 0; // the newest state asked for: an older answer arriving late is not shown over it
  async function pollState() {
    if (!conversation || document.getElementById('preview').hidden) return;
    const mine = ++asked;
    const response = await fetch(`/designer/bots/${body().dataset.bot}/preview/${conversation}`, {headers: {'HX-Request': 'true'}});
    if (!response.ok) return;
    const text = await response.text();
    if (mine !== asked) return;
    const box = document.getElementById('preview-state');
    box.innerHTML = text;
    const at = box.querySelector('[data-at-step]');
    atStep = at && at.dataset.atStep;
    highlight();
  }
  function highlight() {
    document.querySelectorAll('.row.at').forEach((r) => r.classList.remove('at'));
    const node = atStep && document.getElementById('node-' + atStep);
    if (node) node.querySelector('.row').classList.add('at');
  }
})();
