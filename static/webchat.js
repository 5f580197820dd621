/*
 * Arbor webchat: the chat widget a website embeds with one tag,
 *   <script src="https://HOST/static/webchat.js" data-bot="BOT" async></script>
 * (optional data-title, data-open="true", data-server, data-locale, data-share), or drives from JavaScript:
 *   const chat = Arbor.webchat({bot, server, user: {id, ...data}, open, title, theme, container, token, locale,
 *     share, draft});
 *   chat.open() / close() / toggle() / sendEvent(name, value) / setUserData(obj) / startDialog(id)
 *   chat.on(name, fn) / off(name, fn) / destroy();  Arbor.get(bot) finds a chat.
 * `user` data reaches the bot's user data when the conversation starts (and setUserData's later); the
 * user id comes with the token: anonymous visitors get a new one, a site's backend picks it when it
 * makes the token (tokens/generate with the bot's secret) and passes `token`. `container` draws the
 * chat inside an element instead of a floating button. Bot events reach on(name) handlers and
 * `arbor:event` on window (detail {bot, name, value}; preventDefault() stops the built-in ones:
 * close-chat, open-chat, reload-page, navigate). `arbor:ready` on window announces each new chat, and
 * `arbor:activities` (detail {bot, chat}) each time new activities arrived (the designer's "Try it" follows them).
 * `locale` ("cs", "de-AT") is the language the page asks the bot for; without it the server takes the browser's
 * languages. The widget's own words follow the same choice: English, Czech and German are shipped (WORDS).
 * `share` is a bot's share token (its share page opens chats with it); `draft` (the designer's "Try it") keeps
 * the conversation apart from the live version's, so the two never pick up each other's.
 * Theme: CSS custom properties --arbor-color, --arbor-font, --arbor-radius, --arbor-position
 * (left/right), or theme: {color, font, radius, position}.
 *
 * It speaks Direct Line 3.0 to the Arbor server the script came from: the conversation's WebSocket stream
 * brings replies as they are made, and polling takes over where a proxy refuses the upgrade or while the
 * stream reconnects (from its watermark, with backoff). It keeps the conversation
 * across page loads (localStorage, per bot), and draws everything inside a shadow root so that the
 * site's CSS and ours never mix. No dependencies, nothing fetched from anyone but the Arbor server.
 */
(() => {
  'use strict';

  const SCRIPT = document.currentScript;
  // A second copy of the script (one tag per bot) hands its tag to the first copy's instances.
  if (window.Arbor && window.Arbor.webchat) {
    embed(SCRIPT);
    return;
  }

  const ORIGIN = SCRIPT && SCRIPT.src ? new URL(SCRIPT.src, location.href).origin : location.origin;
  const POLL_MIN = 1000; // ms between polls while someone is chatting
  const POLL_MAX = 10000; // ms between polls when idle, closed or hidden
  const IDLE_AFTER = 30000; // ms without activity before polling slows down
  const TYPING_FOR = 15000; // ms the typing indicator waits for a reply at most
  const STREAM_RETRY = [1000, 3000, 10000, 30000]; // ms before reconnecting a stream that closed
  const INIT_EVENT = 'arbor/init'; // carries the page's user data into the bot's user data
  const START_DIALOG_EVENT = 'arbor/start-dialog';
  const instances = new Map(); // bot id -> chat: one instance per bot on a page

  // The widget's own words; a language not here gets English.
  const WORDS = {
    en: {connecting: 'Connecting…', offline: 'You are offline. Retrying when you are back.',
      refused: 'This website is not allowed to open this chat.',
      unavailable: 'The chat is not available right now.', reconnecting: 'Reconnecting…',
      expired: 'The conversation expired, so a new one started.', notSent: 'Not sent. Retry', sending: 'Sending…',
      placeholder: 'Type a message…', message: 'Your message', restart: 'Start over', close: 'Close chat',
      send: 'Send', suggested: 'Suggested answers', open: 'Open chat', unread: 'unread', with: 'Conversation with',
      typing: 'is typing', cards: 'Cards, use the arrow keys to move between them', card: 'Card'},
    cs: {connecting: 'Připojuji…', offline: 'Jste offline. Zkusím to znovu, až budete online.',
      refused: 'Tento web nemá povoleno otevřít tento chat.',
      unavailable: 'Chat teď není k dispozici.', reconnecting: 'Znovu se připojuji…',
      expired: 'Konverzace vypršela, začala nová.', notSent: 'Neodesláno. Zkusit znovu', sending: 'Odesílám…',
      placeholder: 'Napište zprávu…', message: 'Vaše zpráva', restart: 'Začít znovu', close: 'Zavřít chat',
      send: 'Odeslat', suggested: 'Navržené odpovědi', open: 'Otevřít chat', unread: 'nepřečtené',
      with: 'Konverzace s', typing: 'píše', cards: 'Karty, mezi nimi se pohybujte šipkami', card: 'Karta'},
    de: {connecting: 'Verbinde…', offline: 'Sie sind offline. Neuer Versuch, sobald Sie wieder online sind.',
      refused: 'Diese Website darf diesen Chat nicht öffnen.',
      unavailable: 'Der Chat ist gerade nicht verfügbar.', reconnecting: 'Verbinde erneut…',
      expired: 'Die Unterhaltung ist abgelaufen, eine neue hat begonnen.', notSent: 'Nicht gesendet. Erneut versuchen',
      sending: 'Wird gesendet…', placeholder: 'Nachricht eingeben…', message: 'Ihre Nachricht',
      restart: 'Neu beginnen', close: 'Chat schließen', send: 'Senden', suggested: 'Antwortvorschläge',
      open: 'Chat öffnen', unread: 'ungelesen', with: 'Unterhaltung mit', typing: 'schreibt',
      cards: 'Karten, mit den Pfeiltasten wechseln', card: 'Karte'},
  };

  // Bot -> page events the widget carries out itself, unless a listener calls preventDefault().
  const BUILT_IN = {
    'close-chat': (chat) => chat.close(),
    'open-chat': (chat) => chat.open(),
    'reload-page': () => location.reload(),
    navigate: (chat, value) => {
      const url = safeUrl(value && typeof value === 'object' ? value.url : value);
      if (url) location.assign(url);
    },
  };

  /* ---------- small DOM helpers: content always goes in as text, never as markup ---------- */

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    node.append(...children.filter((child) => child != null));
    return node;
  }

  // Only http(s) URLs become links, images or navigation: javascript:, data: and the like stay text.
  function safeUrl(value) {
    if (typeof value !== 'string') return null;
    try {
      const url = new URL(value, location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // Markdown subset: **bold**, *italics* / _italics_, [label](url), bare URLs; lines kept.
  // Groups: 1 bold, 2 *italic*, 3 char before _, 4 _italic_, 5 label, 6 url, 7 bare url.
  const INLINE = /\*\*([^*]+?)\*\*|\*([^*\s](?:[^*]*[^*\s])?)\*|(^|[^\w])_([^_\s](?:[^_]*[^_\s])?)_(?!\w)|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'\]])/g;

  function markdown(parent, text) {
    String(text).split('\n').forEach((line, i) => {
      if (i) parent.append(el('br'));
      inline(parent, line);
    });
    return parent;
  }

  function inline(parent, text) {
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      const start = m.index + (m[3] || '').length;
      parent.append(text.slice(last, start));
      if (m[1] !== undefined) parent.append(inline(el('strong'), m[1]));
      else if (m[2] !== undefined || m[4] !== undefined) parent.append(inline(el('em'), m[2] || m[4]));
      else parent.append(link(m[5] || m[7], m[6] || m[7], text.slice(start, m.index + m[0].length)));
      last = m.index + m[0].length;
    }
    parent.append(text.slice(last));
    return parent;
  }

  function link(label, href, raw) {
    const url = safeUrl(href);
    return url ? el('a', {href: url, target: '_blank', rel: 'noopener noreferrer', text: label}) : raw;
  }

  function plain(parent, text) {
    String(text).split('\n').forEach((line, i) => parent.append(...(i ? [el('br'), line] : [line])));
    return parent;
  }

  function clock(timestamp) {
    const date = timestamp ? new Date(timestamp) : new Date();
    const label = date.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
    return el('time', {datetime: date.toISOString(), text: label});
  }

  function randomId(prefix) {
    const bytes = crypto.getRandomValues(new Uint8Array(9));
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // localStorage may be missing or full (private modes): the chat then lasts one page load.
  const store = {
    get(key) {
      try {
        return JSON.parse(localStorage.getItem(key));
      } catch (e) {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value == null) localStorage.removeItem(key);
        else localStorage.setItem(key, JSON.stringify(value));
      } catch (e) { /* not kept */ }
    },
  };

  const ICONS = {
    chat: 'M4 4h16v12H8l-4 4z',
    close: 'M6 6l12 12M18 6L6 18',
    restart: 'M4 12a8 8 0 1 0 2.3-5.6M4 4v4h4',
    send: 'M4 20l17-8L4 4l2 8zM6 12h8',
  };

  function icon(name) {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', ICONS[name]);
    svg.append(path);
    return svg;
  }

  const CSS = `
:host{all:initial!important;--c:var(--arbor-color,#0b5cad);--f:var(--arbor-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);--r:var(--arbor-radius,16px);--x:calc(20px + var(--arbor-stack,0) * 72px)}
*{box-sizing:border-box;font-family:var(--f)}
[hidden]{display:none!important}
:focus-visible{outline:3px solid #1f2937;outline-offset:2px}
input:focus-visible{outline-width:2px;outline-offset:1px}
button{font:inherit;cursor:pointer}
svg{width:24px;height:24px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.launcher{position:fixed;z-index:2147483000;bottom:20px;right:var(--x);width:56px;height:56px;border:0;border-radius:50%;background:var(--c);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.3);display:grid;place-items:center}
.launcher svg{width:28px;height:28px}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#c5221f;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}
.panel{position:fixed;z-index:2147483001;bottom:88px;right:var(--x);width:380px;height:min(620px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;color:#1a1a1a;border-radius:var(--r);box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;font-size:15px;line-height:1.4}
:host([data-position=left]) .launcher,:host([data-position=left]) .panel{right:auto;left:var(--x)}
:host([data-inline]) .panel{position:static;width:100%;height:100%;box-shadow:none;border:1px solid #d0d4d9}
:host([data-inline]) .launcher,:host([data-inline]) .close{display:none}
@media (max-width:479px){:host(:not([data-inline])) .panel{inset:0;width:auto;height:auto;border-radius:0}}
header{display:flex;align-items:center;gap:4px;padding:10px 8px 10px 16px;background:var(--c);color:#fff}
h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
header button{width:40px;height:40px;border:0;border-radius:50%;background:transparent;color:#fff;display:grid;place-items:center}
header button:hover{background:rgba(255,255,255,.15)}
header :focus-visible{outline-color:#fff;outline-offset:-3px}
.status{padding:6px 16px;background:#fff4e5;color:#6b3e00;font-size:13px}
.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f4f5f7}
.msg{display:flex;flex-direction:column;align-items:flex-start;gap:4px;max-width:100%}
.msg[data-role=user]{align-items:flex-end}
.bubble{max-width:85%;padding:8px 12px;border-radius:var(--r);background:#fff;border:1px solid #dde0e4;overflow-wrap:anywhere}
.msg[data-role=user] .bubble{background:var(--c);border-color:var(--c);color:#fff}
.bubble a{color:inherit}
.msg[data-state] .bubble{opacity:.7}
time,.note,.agent{font-size:11px;color:#5c6166}
.agent{font-weight:600}
.note{align-self:center;text-align:center}
.failed{border:0;background:none;color:#b3261e;font-size:12px;text-decoration:underline;padding:0}
.image{max-width:85%;border-radius:calc(var(--r) / 2)}
.carousel{display:flex;gap:8px;max-width:100%;overflow-x:auto;scroll-snap-type:x mandatory;padding:2px 2px 6px}
.card{flex:0 0 220px;scroll-snap-align:start;display:flex;flex-direction:column;background:#fff;border:1px solid #dde0e4;border-radius:calc(var(--r) / 2);overflow:hidden}
.card img{width:100%;height:120px;object-fit:cover}
.body{padding:10px;display:flex;flex-direction:column;gap:4px;flex:1}
.buttons{margin-top:auto;padding-top:6px;display:flex;flex-direction:column;gap:6px}
h3{margin:0;font-size:15px}
.card p{margin:0;font-size:13px}
.card .sub{color:#5c6166}
.card button,.actions button,.signin button{border:1px solid var(--c);background:#fff;color:var(--c);border-radius:8px;padding:6px 10px}
.card button:hover,.actions button:hover,.signin button:hover{background:#eef3fa}
.actions{display:flex;flex-wrap:wrap;justify-content:flex-end;gap:6px;padding:8px 12px 0;background:#f4f5f7}
.actions button{border-radius:999px}
.typing{display:flex;gap:4px;padding:10px 12px;align-self:flex-start;background:#fff;border:1px solid #dde0e4;border-radius:var(--r)}
.typing i{width:6px;height:6px;border-radius:50%;background:#5c6166;animation:blink 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes blink{50%{opacity:.2}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid #dde0e4;background:#fff}
input{flex:1;min-width:0;font:inherit;font-size:16px;padding:8px 14px;border:1px solid #8a9099;border-radius:999px;color:#1a1a1a}
.send{width:42px;height:42px;border:0;border-radius:50%;background:var(--c);color:#fff;display:grid;place-items:center}
.send svg{width:20px;height:20px}
`;

  /* ---------- one chat: a bot's widget on this page ---------- */

  class Chat {
    constructor(options) {
      const data = {...options.user};
      delete data.id; // who the user is comes with the token: a visitor's is new, a site's backend picks it
      this.bot = String(options.bot);
      this.server = String(options.server || ORIGIN).replace(/\/+$/, '');
      this.api = `${this.server}/v3/directline`;
      this.key = `arbor:chat:${this.bot}@${this.server}${options.draft ? '#draft' : ''}`;
      this.share = options.share;
      this.userId = null;
      this.userData = data;
      this.givenToken = options.token;
      this.locale = options.locale ? String(options.locale) : null;
      const lang = (this.locale || navigator.language || 'en').slice(0, 2).toLowerCase();
      this.words = WORDS[lang] || WORDS.en;
      this.handlers = new Map(); // bot event name -> Set of page functions
      this.shown = new Set(); // ids of the activities on screen
      this.pending = new Map(); // clientActivityID -> bubble of a message not yet echoed
      this.conv = null; // {token, conversationId, watermark, expires}
      this.isOpen = false;
      this.interval = POLL_MIN;
      this.lastActive = Date.now();
      this.unread = 0;
      this.inline = Boolean(options.container);
      this._build(options);
      this._listen();
      const saved = store.get(this.key);
      if (this.inline || options.open) this._show(false); // open from the start, without taking the focus
      else if (saved && saved.expires > Date.now()) this._ready().catch(() => {}); // badge and events work closed
    }

    /* ----- public API ----- */

    open() {
      this._show(true);
    }

    // One floating chat is open at a time, so that two bots' panels never cover each other.
    _show(focus) {
      for (const chat of instances.values()) {
        if (chat !== this && !chat.inline && !this.inline && chat.isOpen) chat.close();
      }
      this.isOpen = true;
      this.ui.panel.hidden = false;
      this.ui.launcher.setAttribute('aria-expanded', 'true');
      this._setUnread(0);
      this._touch();
      if (focus) this.ui.input.focus();
      this.ui.log.scrollTop = this.ui.log.scrollHeight;
      this._ready().catch(() => {});
    }

    close() {
      if (this.inline) return;
      // Focus goes back to the launcher if it was in the panel (or lost with a button that went away).
      const hadFocus = this.root.activeElement !== null || document.activeElement === document.body;
      this.isOpen = false;
      this.ui.panel.hidden = true;
      this.ui.launcher.setAttribute('aria-expanded', 'false');
      if (hadFocus) this.ui.launcher.focus();
    }

    toggle() {
      if (this.isOpen) this.close();
      else this.open();
    }

    sendEvent(name, value) {
      return this._send({type: 'event', name: String(name), value});
    }

    // Kept for the start of a new conversation, and sent to the bot as well once there is one.
    setUserData(data) {
      Object.assign(this.userData, data);
      if (!this.connecting) return Promise.resolve();
      return this.connecting.then(() => this.sendEvent(INIT_EVENT, {...data}));
    }

    startDialog(dialog) {
      return this.sendEvent(START_DIALOG_EVENT, {dialog: String(dialog)});
    }

    on(name, fn) {
      if (!this.handlers.has(name)) this.handlers.set(name, new Set());
      this.handlers.get(name).add(fn);
      return this;
    }

    off(name, fn) {
      if (this.handlers.has(name)) this.handlers.get(name).delete(fn);
      return this;
    }

    destroy() {
      this.destroyed = true;
      this._closeStream();
      clearTimeout(this.pollTimer);
      clearTimeout(this.refreshTimer);
      clearTimeout(this.typingTimer);
      for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
      this.host.remove();
      instances.delete(this.bot);
    }

    /* ----- the conversation: start, resume, refresh, start over ----- */

    // Resolves once there is a conversation; concurrent callers share one attempt.
    _ready() {
      if (!this.connecting) {
        this._setStatus(this.words.connecting);
        this.connecting = this._connect().then(
          () => this._setStatus(null),
          (error) => {
            this.connecting = null;
            const w = this.words;
            this._setStatus(error.code === 'OriginNotAllowed' ? w.refused : error.status ? w.unavailable : w.offline);
            throw error;
          });
      }
      return this.connecting;
    }

    // The stored conversation if its token still works and a token given for another user does not
    // say otherwise; else a new one.
    async _connect() {
      const saved = store.get(this.key);
      const sameUser = !this.givenToken || tokenUser(this.givenToken) === tokenUser(saved && saved.token);
      if (saved && saved.expires > Date.now() && sameUser) {
        try {
          return await this._resume(saved);
        } catch (error) {
          if (error.status !== 403 && error.status !== 404) throw error;
        }
      }
      await this._start();
    }

    // An anonymous visitor's token opens the conversation with the page's user data already in it, so
    // the bot's greeting can use it; a token from the site's backend gets the data in an init event.
    async _start() {
      const given = this.givenToken;
      this.givenToken = null; // one token opens one conversation
      this.conv = null;
      this._keep(given ? await this._call('POST', '/conversations', {}, given) :
        await this._call('POST', '', {userData: this.userData, locale: this.locale || undefined, share: this.share}, null,
          `${this.server}/b/${encodeURIComponent(this.bot)}/webchat/token`));
      if (given && Object.keys(this.userData).length) {
        await this._post({type: 'event', name: INIT_EVENT, value: this.userData});
      }
      this._openStream();
    }

    // After a page load: a fresh token for the stored conversation, then its history again from an
    // empty watermark, shown quietly. Only what arrived after the saved watermark counts as new (its
    // events run, it is unread), so nothing the bot asked the page to do is done twice.
    async _resume(saved) {
      this.conv = saved;
      this._keep(await this._call('GET', `/conversations/${encodeURIComponent(saved.conversationId)}`));
      const all = await this._activities('');
      let fresh = all;
      if (saved.watermark) {
        fresh = all.watermark === saved.watermark ? {activities: [], watermark: all.watermark} :
          await this._activities(saved.watermark);
      }
      const freshIds = new Set(fresh.activities.map((a) => a.id));
      this.ui.log.setAttribute('aria-busy', 'true'); // history is not read out again
      this._receive(all.activities.filter((a) => !freshIds.has(a.id)), false);
      this.ui.log.removeAttribute('aria-busy');
      this._advance(fresh.watermark);
      this._receive(fresh.activities, true);
      this._openStream();
    }

    // Keeps a Conversation answer (conversationId, token, expires_in); the user id is the token's.
    _keep(body) {
      const seconds = Number(body.expires_in) || 1800;
      const conv = this.conv || {watermark: ''};
      this.conv = {...conv, conversationId: body.conversationId || conv.conversationId,
        token: body.token || conv.token, expires: Date.now() + seconds * 1000};
      this.streamUrl = body.streamUrl || null;
      this.userId = tokenUser(this.conv.token) || this.userId;
      store.set(this.key, this.conv);
      this._refreshLater();
    }

    // Tokens are refreshed a minute (or half their life) before they expire.
    _refreshLater() {
      clearTimeout(this.refreshTimer);
      if (this.destroyed) return;
      const conv = this.conv;
      const left = conv.expires - Date.now();
      this.refreshTimer = setTimeout(async () => {
        try {
          const body = await this._call('POST', '/tokens/refresh');
          if (this._current(conv)) this._keep(body);
        } catch (error) {
          if (this._current(conv)) this._failed(error);
        }
      }, Math.max(1000, left - Math.min(60000, left / 2)));
    }

    // Whether `conv` is still the conversation on screen (not one left by starting over).
    _current(conv) {
      return Boolean(this.conv) && this.conv.conversationId === conv.conversationId;
    }

    async _restart() {
      this._closeStream();
      clearTimeout(this.pollTimer);
      clearTimeout(this.refreshTimer);
      store.set(this.key, null);
      this.conv = null;
      this.connecting = null;
      this.shown.clear();
      this.pending.clear();
      this.lastMessage = null;
      this.ui.log.replaceChildren();
      this._showActions(null);
      this._typing(false);
      await this._ready();
    }

    // A token that no longer works (403) or a conversation that is gone (404): start a new one.
    _failed(error) {
      if (error.code === 'OriginNotAllowed') return this._refuse(error);
      if ((error.status === 403 || error.status === 404) && this.conv) {
        if (!this.restarting) {
          this.restarting = this._restart().then(() => this._note(this.words.expired))
            .catch(() => {}).finally(() => { this.restarting = null; });
        }
        return;
      }
      if (error.status && error.status < 500 && error.status !== 429) return; // refused, not unreachable
      this.failures = (this.failures || 0) + 1;
      this._setStatus(navigator.onLine === false ? this.words.offline : this.words.reconnecting);
    }

    // The bot's owner took this website off the bot's allowed ones while it chats: say so and stop asking (the
    // conversation stays stored, for a reload once the website is allowed again).
    _refuse(error) {
      this._closeStream();
      clearTimeout(this.pollTimer);
      clearTimeout(this.refreshTimer);
      this.conv = null;
      (this.connecting = Promise.reject(error)).catch(() => {});
      this._setStatus(this.words.refused);
    }

    /* ----- Direct Line calls ----- */

    async _call(method, path, body, token = this.conv && this.conv.token, url = this.api + path) {
      const headers = {};
      if (token) headers.Authorization = `Bearer ${token}`;
      // The anonymous token request goes without a preflight (text/plain): a refused page then hears why.
      if (body !== undefined && token) headers['Content-Type'] = 'application/json';
      let response;
      try {
        response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
      } catch (e) {
        // Unread: the network, or CORS refusing every answer to a page the bot no longer allows. The server says which.
        throw Object.assign(new Error('network error'), {status: 0, code: await this._refusal()});
      }
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        throw Object.assign(new Error(`HTTP ${response.status}`), {status: response.status,
          code: answer.error && answer.error.code, retryAfter: +response.headers.get('Retry-After')});
      }
      return response.status === 204 ? {} : response.json();
    }

    // The code of the server's refusal of this page, if it refuses it (a simple request: no preflight to fail).
    async _refusal() {
      if (navigator.onLine === false) return;
      try {
        const answer = await (await fetch(`${this.server}/b/${encodeURIComponent(this.bot)}/webchat/allowed`)).json();
        return answer.error.code;
      } catch (e) {
        return undefined;
      }
    }

    _activities(watermark) {
      const id = encodeURIComponent(this.conv.conversationId);
      return this._call('GET', `/conversations/${id}/activities?watermark=${encodeURIComponent(watermark)}`);
    }

    // While people have the conversation, the visitor's typing reaches them (never the bot): one a 3 s at most.
    _typed() {
      if (!this.withPeople || !this.conv || Date.now() - (this.typedAt || 0) < 3000) return;
      this.typedAt = Date.now();
      this._post({type: 'typing'}).catch(() => {});
    }

    _post(activity) {
      const id = encodeURIComponent(this.conv.conversationId);
      return this._call('POST', `/conversations/${id}/activities`, {
        ...activity,
        from: this.userId ? {id: this.userId, role: 'user'} : undefined,
        locale: this.locale || navigator.language,
        localTimestamp: new Date().toISOString(),
        channelData: {clientActivityID: randomId('c_'), ...activity.channelData},
      });
    }

    /* ----- polling: 1 s while chatting, slower when idle, closed or hidden; never two at once ----- */

    // `force`: once even while the stream is open (back online: is the server reachable again?).
    async _poll(force) {
      if (!this.conv || this.destroyed || (this.streaming && !force)) return;
      if (this.polling) {
        this.pollAgain = true;
        return;
      }
      clearTimeout(this.pollTimer);
      this.polling = true;
      const conv = this.conv;
      try {
        const body = await this._activities(conv.watermark);
        if (this._current(conv)) {
          this.failures = 0;
          this._setStatus(null);
          this._advance(body.watermark); // before the events run: one of them may reload the page
          this._receive(body.activities || [], true);
        }
      } catch (error) {
        if (this._current(conv)) this._failed(error);
      } finally {
        this.polling = false;
      }
      if (this.pollAgain) {
        this.pollAgain = false;
        this._poll();
      } else {
        this._schedule(this._delay());
      }
    }

    _advance(watermark) {
      if (watermark == null) return;
      this.conv.watermark = String(watermark);
      store.set(this.key, this.conv);
    }

    _schedule(delay) {
      clearTimeout(this.pollTimer);
      if (!this.destroyed && this.conv && !this.streaming) this.pollTimer = setTimeout(() => this._poll(), delay);
    }

    /* ----- the stream: replies pushed as they are made; polling while it is down ----- */

    // Opens the conversation's stream (the streamUrl of the last Conversation answer), else polls.
    _openStream() {
      if (this.noStream || !this.streamUrl || !window.WebSocket) return this._schedule(this._delay());
      this._closeStream();
      const conv = this.conv;
      const socket = this.socket = new WebSocket(this.streamUrl);
      this.streamUrl = null; // a stream URL is good once, for a minute
      let opened = false;
      socket.onopen = () => {
        opened = true;
        this.streaming = true;
        this.streamFailures = 0;
        clearTimeout(this.pollTimer);
      };
      socket.onmessage = (message) => {
        if (!message.data || !this._current(conv)) return; // an empty message keeps the connection alive
        const body = JSON.parse(message.data);
        this.failures = 0;
        this._setStatus(null);
        this._advance(body.watermark);
        this._receive(body.activities || [], true);
      };
      socket.onclose = (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        this.streaming = false;
        if (this.destroyed || !this._current(conv)) return;
        // 4003: the bot's owner took this website off its allowed ones.
        if (event.code === 4003) return this._refuse(Object.assign(new Error('refused'), {code: 'OriginNotAllowed'}));
        // Never opened (a proxy refused the upgrade), or taken by a newer page of the same conversation
        // (4001): this page polls. Else it reconnects from the watermark.
        if (!opened || event.code === 4001) this.noStream = true;
        this._poll();
        if (!this.noStream) this._reconnectLater(conv);
      };
    }

    // A new streamUrl from the watermark (and a fresh token), after a wait that grows with each failure.
    _reconnectLater(conv) {
      const wait = STREAM_RETRY[Math.min(this.streamFailures || 0, STREAM_RETRY.length - 1)];
      this.streamFailures = (this.streamFailures || 0) + 1;
      clearTimeout(this.streamTimer);
      this.streamTimer = setTimeout(async () => {
        if (this.destroyed || !this._current(conv)) return;
        try {
          const id = encodeURIComponent(conv.conversationId);
          const mark = encodeURIComponent(this.conv.watermark);
          this._keep(await this._call('GET', `/conversations/${id}?watermark=${mark}`));
          this._openStream();
        } catch (error) {
          this._failed(error);
          if (this._current(conv)) this._reconnectLater(conv);
        }
      }, wait);
    }

    _closeStream() {
      clearTimeout(this.streamTimer);
      const socket = this.socket;
      this.socket = null;
      this.streaming = false;
      if (socket) socket.close();
    }

    _delay() {
      if (this.failures) return Math.min(POLL_MAX, POLL_MIN * 2 ** this.failures);
      const active = this.isOpen && !document.hidden && Date.now() - this.lastActive < IDLE_AFTER;
      this.interval = active ? POLL_MIN : Math.min(POLL_MAX, this.interval * 2);
      return this.interval;
    }

    // Someone is chatting: poll at full speed again, at once if the last poll was a while ago.
    _touch() {
      const slow = this.interval > POLL_MIN;
      this.lastActive = Date.now();
      this.interval = POLL_MIN;
      if (slow && this.conv) this._poll();
    }

    /* ----- receiving ----- */

    // Shows activities and runs the bot's events; `live` is false for history shown again after a load.
    _receive(activities, live) {
      let fresh = 0;
      for (const activity of activities) {
        if (!activity.id || this.shown.has(activity.id)) continue;
        this.shown.add(activity.id);
        fresh++;
        const from = activity.from || {};
        const role = from.role || (from.id === this.userId ? 'user' : 'bot');
        if (activity.type === 'message' && role !== 'channel') this.lastMessage = {activity, role};
        const clientId = activity.channelData && activity.channelData.clientActivityID;
        if (this.pending.has(clientId)) { // the echo of what this page sent: the bot has answered by now
          this.pending.get(clientId).removeAttribute('data-state');
          this.pending.get(clientId).removeAttribute('title');
          this.pending.delete(clientId);
          this._typing(false);
        } else if (role === 'bot') {
          this._fromBot(activity, live);
        } else if (role === 'user' && activity.type === 'message') {
          this._message(activity, 'user');
        }
      }
      const last = this.lastMessage;
      if (last && last !== this.actionsOf) { // buttons change only with a new message: focus stays put
        this.actionsOf = last;
        this._showActions(last.role === 'bot' ? last.activity.suggestedActions : null);
      }
      if (fresh && live) window.dispatchEvent(new CustomEvent('arbor:activities', {detail: {bot: this.bot, chat: this}}));
    }

    _fromBot(activity, live) {
      if (activity.type === 'message') {
        if (activity.locale && this.botLocale && activity.locale !== this.botLocale) this._speak(activity.locale);
        this.botLocale = activity.locale || this.botLocale;
        if (!this._message(activity, 'bot')) return;
        this._typing(false);
        if (live && (!this.isOpen || document.hidden)) this._setUnread(this.unread + 1);
        if (live) this.lastActive = Date.now();
      } else if (activity.type === 'typing' && live && !this.withPeople) { // a turn began: the bot is typing
        this._typing(true);
      } else if (activity.type === 'event' && live && activity.name) {
        this._emit(activity.name, activity.value);
      }
    }

    // The conversation went on in another language (the visitor picked it): the widget's own words follow.
    _speak(locale) {
      const words = WORDS[String(locale).slice(0, 2).toLowerCase()];
      if (!words || words === this.words) return;
      this.words = words;
      this.ui.input.placeholder = words.placeholder;
      this.ui.input.setAttribute('aria-label', words.message);
      this.ui.actions.setAttribute('aria-label', words.suggested);
      for (const [id, key] of [['arbor-send', 'send'], ['arbor-restart', 'restart'], ['arbor-close', 'close']]) {
        const button = this.root.querySelector(`[data-testid="${id}"]`);
        button.setAttribute('aria-label', words[key]);
        if (button.title) button.title = words[key];
      }
    }

    _emit(name, value) {
      for (const fn of [...(this.handlers.get(name) || [])]) {
        try {
          fn(value, name);
        } catch (error) {
          console.error(error);
        }
      }
      const event = new CustomEvent('arbor:event', {detail: {bot: this.bot, name, value}, cancelable: true});
      if (window.dispatchEvent(event) && BUILT_IN[name]) BUILT_IN[name](this, value);
    }

    /* ----- sending ----- */

    async _send(activity, bubble, clientId = randomId('c_')) {
      if (bubble) {
        bubble.setAttribute('data-state', 'sending');
        bubble.title = this.words.sending;
        this.pending.set(clientId, bubble);
        if (!this.withPeople) this._typing(true);
      }
      this._touch();
      let connected = false;
      try {
        await this._ready();
        connected = true;
        const sent = {...activity, channelData: {...activity.channelData, clientActivityID: clientId}};
        // A server away for a moment (503 while its database restarts; 502 or 504 from a proxy) gets the same
        // message again after its Retry-After, a few times: the clientActivityID makes it count once.
        for (let tries = 0; ; tries++) {
          try {
            await this._post(sent);
            break;
          } catch (error) {
            if (tries > 5 || this.destroyed || !(error.status > 501 && error.status < 505)) throw error;
            await new Promise((done) => setTimeout(done, (error.retryAfter || 2) * 1000));
          }
        }
      } catch (error) {
        if (bubble) this._sendFailed(bubble, clientId, activity);
        if (connected) this._failed(error);
        throw error;
      }
      this._poll();
    }

    _say(text) {
      const value = text.trim();
      if (!value) return;
      this._showActions(null);
      const bubble = this._message({text: value, textFormat: 'plain'}, 'user');
      this._send({type: 'message', text: value, textFormat: 'plain'}, bubble).catch(() => {});
    }

    // Retrying reposts the same clientActivityID: the server applies an activity only once.
    _sendFailed(bubble, clientId, activity) {
      this.pending.delete(clientId);
      this._typing(false);
      bubble.setAttribute('data-state', 'failed');
      const retry = el('button', {type: 'button', class: 'failed', text: this.words.notSent,
        onclick: () => {
          retry.remove();
          this._send(activity, bubble, clientId).catch(() => {});
        }});
      bubble.append(retry);
    }

    // Suggested actions and card buttons; titles are what the user sees, values what the bot gets.
    _act(action) {
      const value = action.value == null ? action.title : action.value;
      if (action.type === 'openUrl') {
        const url = safeUrl(value);
        if (url) window.open(url, '_blank', 'noopener');
        return;
      }
      this._showActions(null);
      this.ui.input.focus(); // the button that had focus is gone
      if (action.type === 'postBack') {
        const bubble = this._message({text: action.title, textFormat: 'plain'}, 'user');
        this._send({type: 'message', text: typeof value === 'string' ? value : undefined, value,
          channelData: {postBack: true, title: action.title}}, bubble).catch(() => {});
      } else {
        this._say(String(value));
      }
    }

    /* ----- drawing ----- */

    _build(options) {
      const title = String(options.title || 'Chat');
      const w = this.words;
      this.host = el('arbor-webchat', {'data-bot': this.bot, 'data-inline': this.inline});
      const theme = options.theme || {};
      for (const name of ['color', 'font', 'radius']) {
        if (theme[name]) this.host.style.setProperty(`--arbor-${name}`, theme[name]);
      }
      const container = typeof options.container === 'string' ? document.querySelector(options.container) :
        options.container;
      (container || document.body).append(this.host);
      const position = theme.position || getComputedStyle(this.host).getPropertyValue('--arbor-position').trim();
      this.host.setAttribute('data-position', position === 'left' ? 'left' : 'right');
      if (!this.inline) {
        const stack = [...instances.values()].filter((chat) => !chat.inline).length;
        this.host.style.setProperty('--arbor-stack', stack);
      }

      this.root = this.host.attachShadow({mode: 'open'});
      const ui = (this.ui = {});
      ui.badge = el('span', {class: 'badge', 'data-testid': 'arbor-badge', hidden: true});
      ui.launcher = el('button', {class: 'launcher', type: 'button', 'data-testid': 'arbor-launcher',
        'aria-label': `${w.open}: ${title}`, 'aria-expanded': 'false', onclick: () => this.toggle()},
      icon('chat'), ui.badge);
      ui.status = el('div', {class: 'status', role: 'status', 'data-testid': 'arbor-status', hidden: true});
      ui.log = el('div', {class: 'log', role: 'log', 'data-testid': 'arbor-log', 'aria-live': 'polite', 'aria-label': `${w.with} ${title}`});
      ui.typing = el('div', {class: 'typing', 'data-testid': 'arbor-typing', role: 'img',
        'aria-label': `${title} ${w.typing}`, hidden: true}, el('i'), el('i'), el('i'));
      ui.actions = el('div', {class: 'actions', role: 'group', 'data-testid': 'arbor-actions', 'aria-label': w.suggested, hidden: true});
      ui.input = el('input', {type: 'text', 'data-testid': 'arbor-input', 'aria-label': w.message,
        placeholder: w.placeholder, autocomplete: 'off', maxlength: '2000'});
      ui.panel = el('section', {class: 'panel', role: 'dialog', 'aria-label': title, 'data-testid': 'arbor-panel',
        hidden: true},
      el('header', {},
        el('h2', {text: title}),
        el('button', {type: 'button', 'data-testid': 'arbor-restart', 'aria-label': w.restart, title: w.restart,
          onclick: () => this._restart().catch(() => {})}, icon('restart')),
        el('button', {type: 'button', class: 'close', 'data-testid': 'arbor-close', 'aria-label': w.close,
          title: w.close, onclick: () => this.close()}, icon('close'))),
      ui.status, ui.log, ui.actions,
      el('form', {onsubmit: (event) => {
        event.preventDefault();
        this._say(ui.input.value);
        ui.input.value = '';
      }}, ui.input, el('button', {type: 'submit', class: 'send', 'data-testid': 'arbor-send', 'aria-label': w.send},
        icon('send'))));
      ui.panel.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') this.close();
      });
      ui.panel.addEventListener('input', () => { this._touch(); this._typed(); });
      this.root.append(el('style', {text: CSS}), ui.launcher, ui.panel);
    }

    // Page-wide listeners, removed again by destroy().
    _listen() {
      this.listeners = [
        [document, 'visibilitychange', () => {
          if (document.hidden || !this.isOpen) return;
          this._setUnread(0);
          this._touch();
        }],
        [window, 'online', () => this.conv ? this._poll(true) : this.isOpen && this._ready().catch(() => {})],
        [window, 'offline', () => this._setStatus(this.words.offline)],
      ];
      for (const [target, type, fn] of this.listeners) target.addEventListener(type, fn);
    }

    // One activity as a bubble with its attachments and time (an agent's with their name above it), or a
    // notice (an agent joined or left, the bot is back) as a centred line; returns it, or null if nothing to show.
    _message(activity, role) {
      const data = activity.channelData || {};
      const arbor = data.arbor || {};
      // While people have the conversation a sent message shows no typing dots: nobody answers at machine speed.
      if (arbor.notice || arbor.handover) this.withPeople = arbor.notice ? arbor.notice === 'agent-joined' : true;
      if (arbor.notice) {
        const note = el('p', {class: 'note', 'data-testid': 'arbor-notice', 'data-notice': arbor.notice, text: activity.text});
        this._append(note);
        return note;
      }
      const text = data.postBack ? data.title : activity.text;
      const attachments = role === 'bot' ? (activity.attachments || []).map((a) => this._attachment(a)) : [];
      const shown = attachments.filter(Boolean);
      if (!text && !shown.length) return null;
      const markup = role === 'bot' && activity.textFormat !== 'plain' ? markdown : plain;
      const body = [];
      if (text) body.push(markup(el('div', {class: 'bubble'}), text));
      if (activity.attachmentLayout === 'carousel' && shown.length) body.push(this._carousel(shown));
      else body.push(...shown);
      const row = el('div', {class: 'msg', 'data-testid': 'arbor-message', 'data-role': role, 'data-agent': arbor.agent},
        arbor.agent && el('span', {class: 'agent', 'data-testid': 'arbor-agent', text: arbor.agent}), ...body,
        clock(activity.timestamp));
      this._append(row);
      return row;
    }

    _append(node) {
      const log = this.ui.log;
      this._keepEnd(() => log.insertBefore(node, this.ui.typing.parentNode === log ? this.ui.typing : null),
        node.dataset.role === 'user');
    }

    // Runs a change to the log or to the buttons' row under it (which takes the log's room), and keeps the
    // log scrolled to its end if it was there before (or `always`): a reader who scrolled up stays put.
    _keepEnd(change, always) {
      const log = this.ui.log;
      const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      change();
      if (atEnd || always) log.scrollTop = log.scrollHeight;
    }

    _note(text) {
      this._append(el('p', {class: 'note', text}));
    }

    _attachment(attachment) {
      const type = attachment.contentType || '';
      if (type === 'application/vnd.microsoft.card.hero') return this._card(attachment.content || {});
      if (type === 'application/vnd.microsoft.card.signin') return this._signIn(attachment.content || {});
      const url = safeUrl(attachment.contentUrl);
      if (type.startsWith('image/') && url) return el('img', {class: 'image', src: url, alt: attachment.name || ''});
      return null;
    }

    _card(card) {
      const image = card.images && card.images[0] && safeUrl(card.images[0].url);
      const buttons = (card.buttons || []).map((action) => el('button', {type: 'button', 'data-testid': 'arbor-card-button',
        text: action.title || action.value, onclick: () => this._act(action)}));
      return el('div', {class: 'card', 'data-testid': 'arbor-card', role: 'group', 'aria-label': card.title || this.words.card,
        tabindex: buttons.length ? null : '-1'},
      image ? el('img', {src: image, alt: card.images[0].alt || ''}) : null,
      el('div', {class: 'body'},
        card.title ? el('h3', {text: card.title}) : null,
        card.subtitle ? el('p', {class: 'sub', text: card.subtitle}) : null,
        card.text ? markdown(el('p'), card.text) : null,
        buttons.length ? el('div', {class: 'buttons'}, ...buttons) : null));
    }

    // A sign-in card: its buttons under the message (whose text says why), not a card of its own.
    _signIn(card) {
      return el('div', {class: 'signin'}, ...(card.buttons || []).map((action) => el('button', {type: 'button',
        'data-testid': 'arbor-card-button', text: action.title || action.value, onclick: () => this._act(action)})));
    }

    // Cards scroll sideways; Tab walks their buttons, arrow keys jump card to card.
    _carousel(cards) {
      return el('div', {class: 'carousel', role: 'group', 'aria-roledescription': 'carousel', tabindex: '0',
        'aria-label': this.words.cards,
        onkeydown: (event) => {
          const step = {ArrowRight: 1, ArrowLeft: -1}[event.key];
          const current = cards.findIndex((card) => card.contains(this.root.activeElement));
          const next = cards[current + step];
          if (!step || !next) return;
          event.preventDefault();
          (next.querySelector('button') || next).focus();
          next.scrollIntoView({block: 'nearest', inline: 'nearest'});
        }}, ...cards);
    }

    _showActions(suggested) {
      const actions = (suggested && suggested.actions) || [];
      const to = (suggested && suggested.to) || [];
      const mine = !to.length || to.includes(this.userId);
      const row = this.ui.actions;
      this._keepEnd(() => {
        row.replaceChildren(...(mine ? actions : []).map((action) => el('button', {type: 'button',
          'data-testid': 'arbor-button', text: action.title || action.value, onclick: () => this._act(action)})));
        row.hidden = !row.childElementCount;
      });
    }

    _typing(on) {
      clearTimeout(this.typingTimer);
      const typing = this.ui.typing;
      typing.hidden = !on;
      if (on) {
        this._append(typing);
        this.typingTimer = setTimeout(() => this._typing(false), TYPING_FOR);
      }
    }

    _setUnread(count) {
      this.unread = count;
      this.ui.badge.textContent = count > 9 ? '9+' : String(count);
      this.ui.badge.hidden = !count;
      this.ui.launcher.setAttribute('aria-label', `${this.words.open}: ${this.ui.panel.getAttribute('aria-label')}` +
        (count ? `, ${count} ${this.words.unread}` : ''));
    }

    _setStatus(text) {
      this.ui.status.textContent = text || '';
      this.ui.status.hidden = !text;
    }
  }

  // The user id a Direct Line token (a JWT) was issued for: suggested actions are addressed to it.
  function tokenUser(token) {
    try {
      const bytes = Uint8Array.from(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes)).user || null;
    } catch (e) {
      return null;
    }
  }

  function optionsFromTag(tag) {
    const data = tag.dataset;
    const origin = tag.src ? new URL(tag.src, location.href).origin : location.origin;
    return {bot: data.bot, server: data.server || origin, title: data.title, open: data.open === 'true',
      locale: data.locale, share: data.share};
  }

  function webchat(options) {
    if (!options || !options.bot) throw new Error('Arbor.webchat needs {bot}');
    const bot = String(options.bot);
    if (!instances.has(bot)) {
      instances.set(bot, new Chat(options));
      window.dispatchEvent(new CustomEvent('arbor:ready', {detail: {bot, chat: instances.get(bot)}}));
    }
    return instances.get(bot);
  }

  // The chat a <script data-bot> tag asks for, once the page has a body.
  function embed(tag) {
    if (!tag || !tag.dataset.bot) return;
    const start = () => window.Arbor.webchat(optionsFromTag(tag));
    if (document.body) start();
    else document.addEventListener('DOMContentLoaded', start);
  }

  window.Arbor = Object.assign(window.Arbor || {}, {webchat, get: (bot) => instances.get(String(bot))});
  embed(SCRIPT);
})();
