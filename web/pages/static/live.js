// kast track page: what is on air, the viewer count, the chat and the
// questions, kept live over the event's live channel (a websocket; the
// page polls the JSON API instead when the channel cannot be reached), a
// waiting screen that starts the stream by itself, and playback tokens
// for events of registered attendees. Tests read window.kast.live.
(function () {
  'use strict';
  var root = document.getElementById('watch');
  if (!root) return;
  var ev = root.getAttribute('data-event');
  var track = root.getAttribute('data-track');
  var canPost = root.getAttribute('data-can-post') === 'true';
  var moderator = root.getAttribute('data-moderator') === 'true';
  var canWatch = root.getAttribute('data-can-watch') === 'true';
  var gated = root.getAttribute('data-gated') === 'true';
  var enc = encodeURIComponent;
  var trackAPI = '/api/v1/tracks/' + enc(track);
  var POLL_MS = 1000;
  var MAX_ITEMS = 100;

  var kast = window.kast || (window.kast = {});
  var live = kast.live = { mode: null, onAir: undefined, viewers: null, switches: 0, messages: 0, questions: 0 };
  var $ = function (id) { return document.getElementById(id); };
  var api = function (method, url, body) {
    var opts = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (d) { return { ok: res.ok, status: res.status, data: d }; });
    }, function () { return { ok: false, status: 0, data: { error: 'The server cannot be reached.' } }; });
  };

  // ---- what is on air and who watches ----

  function speakerNames(t) {
    return (t.speakers || []).map(function (s) { return typeof s === 'string' ? s : s.name; }).join(', ');
  }

  // applyOnAir shows talk (null: nothing) and, when the player waits,
  // makes it look for the stream after delayMs (the server's random
  // switch delay, so that all viewers do not ask at once).
  function applyOnAir(talk, delayMs) {
    var id = talk ? talk.id : 0;
    if (live.onAir !== undefined && live.onAir === id) return;
    var first = live.onAir === undefined;
    live.onAir = id;
    if (!first) live.switches++;
    var title = $('onair-title'), sp = $('onair-speakers');
    if (title) title.textContent = talk ? talk.title : (root.getAttribute('data-embed') ? '' : 'Nothing right now');
    if (sp) sp.textContent = talk ? speakerNames(talk) : '';
    showNext(id);
    if (!first && kast.retry && talk) kast.retry(delayMs || 0);
  }

  // showNext shows the first upcoming talk that is not on air.
  var upcoming = [];
  try { upcoming = JSON.parse(root.getAttribute('data-upcoming') || '[]') || []; } catch (e) { upcoming = []; }
  function showNext(onAirID) {
    var line = $('next-line'), el = $('next-title');
    if (!line || !el) return;
    var now = Date.now();
    var n = upcoming.filter(function (t) { return t.id !== onAirID && t.start > now; })[0];
    line.hidden = !n;
    if (!n) return;
    el.textContent = '';
    var tm = document.createElement('time');
    tm.dateTime = new Date(n.start).toISOString();
    tm.textContent = n.clock;
    el.append(tm, ' ' + n.title);
  }

  function showViewers(n) {
    live.viewers = n;
    var el = $('viewers');
    if (el) el.textContent = String(n);
  }

  function showLive(on) {
    var b = $('live-badge');
    if (!b) return;
    b.classList.toggle('on', on);
    b.textContent = on ? '● Live' : 'Off air';
  }

  // The waiting and cannot-play screens follow the player's state.
  var waiting = $('waiting'), cannot = $('cannot-play');
  function onState(s) {
    if (waiting) waiting.hidden = s !== 'waiting';
    if (cannot) cannot.hidden = s !== 'unsupported';
    if (s === 'live') showLive(true);
    if (s === 'waiting') showLive(false);
  }
  kast.onstate = onState;
  if (kast.state) onState(kast.state);

  // ---- the chat ----

  var msgList = $('messages'), qList = $('questions');
  var voted = {};

  function button(label, cls, onClick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  }

  function messageItem(m) {
    var li = document.createElement('li');
    li.className = 'msg' + (m.hidden ? ' hidden-msg' : '');
    li.setAttribute('data-id', m.id);
    var tm = document.createElement('time');
    tm.className = 'msg-time';
    tm.dateTime = m.created_at;
    var d = new Date(m.created_at);
    tm.textContent = isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    var a = document.createElement('span');
    a.className = 'author';
    a.textContent = m.author;
    var b = document.createElement('span');
    b.className = 'body';
    b.textContent = m.body; // text, never HTML
    li.append(tm, ' ', a, ' ', b);
    if (moderator) {
      li.append(' ', button(m.hidden ? 'Show' : 'Hide', 'mod', function () {
        api('PATCH', trackAPI + '/messages/' + m.id, { hidden: !m.hidden }).then(function (r) { if (r.ok) upsertMessage(r.data); });
      }));
    }
    return li;
  }

  function upsertMessage(m) {
    if (!msgList || m.track !== track) return;
    var old = msgList.querySelector('[data-id="' + m.id + '"]');
    if (m.hidden && !moderator) {
      if (old) old.remove();
      return;
    }
    var li = messageItem(m);
    var stick = msgList.scrollHeight - msgList.scrollTop - msgList.clientHeight < 40;
    if (old) {
      old.replaceWith(li);
    } else {
      msgList.append(li);
      live.messages++;
      while (msgList.children.length > MAX_ITEMS) msgList.firstElementChild.remove();
    }
    if (stick || !old) msgList.scrollTop = msgList.scrollHeight;
  }

  function questionItem(q) {
    var li = document.createElement('li');
    li.className = 'question' + (q.answered ? ' answered' : '') + (q.hidden ? ' hidden-msg' : '');
    li.setAttribute('data-id', q.id);
    li.setAttribute('data-votes', q.votes);
    var mine = !!voted[q.id];
    var v = button('', 'vote', function () {
      var up = !voted[q.id];
      api(up ? 'PUT' : 'DELETE', trackAPI + '/questions/' + q.id + '/vote').then(function (r) {
        if (r.ok) {
          voted[q.id] = up;
          upsertQuestion(r.data);
        } else showFieldError('qa-error', r);
      });
    });
    v.setAttribute('aria-pressed', mine ? 'true' : 'false');
    v.setAttribute('aria-label', (mine ? 'Take back your vote' : 'Vote') + ' (' + q.votes + ' votes)');
    v.disabled = !canPost || (q.answered && !mine);
    var arrow = document.createElement('span');
    arrow.setAttribute('aria-hidden', 'true');
    arrow.textContent = '▲ ';
    var count = document.createElement('span');
    count.className = 'votes';
    count.textContent = q.votes;
    v.append(arrow, count);
    var body = document.createElement('span');
    body.className = 'body';
    body.textContent = q.body;
    var author = document.createElement('span');
    author.className = 'author';
    author.textContent = q.author;
    li.append(v, ' ', body, ' ', author);
    if (q.answered) {
      var tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = 'Answered';
      li.append(' ', tag);
    }
    if (moderator) {
      li.append(' ', button(q.answered ? 'Not answered' : 'Answered', 'mod', function () {
        api('PATCH', trackAPI + '/questions/' + q.id, { answered: !q.answered }).then(function (r) { if (r.ok) upsertQuestion(r.data); });
      }), ' ', button(q.hidden ? 'Show' : 'Hide', 'mod', function () {
        api('PATCH', trackAPI + '/questions/' + q.id, { hidden: !q.hidden }).then(function (r) { if (r.ok) upsertQuestion(r.data); });
      }));
    }
    return li;
  }

  // sortQuestions: open questions by votes, then oldest first; answered
  // ones after them.
  function sortQuestions() {
    var items = Array.prototype.slice.call(qList.children);
    items.sort(function (a, b) {
      var aa = a.classList.contains('answered'), ba = b.classList.contains('answered');
      if (aa !== ba) return aa ? 1 : -1;
      var dv = +b.getAttribute('data-votes') - +a.getAttribute('data-votes');
      return dv || (+a.getAttribute('data-id') - +b.getAttribute('data-id'));
    });
    items.forEach(function (li) { qList.append(li); });
    var c = $('qa-count');
    if (c) c.textContent = String(qList.querySelectorAll('.question:not(.answered)').length);
  }

  function upsertQuestion(q) {
    if (!qList || q.track !== track) return;
    var old = qList.querySelector('[data-id="' + q.id + '"]');
    if (q.hidden && !moderator) {
      if (old) old.remove();
      sortQuestions();
      return;
    }
    if (typeof q.voted === 'boolean' && !(q.id in voted)) voted[q.id] = q.voted;
    var li = questionItem(q);
    if (old) old.replaceWith(li);
    else {
      qList.append(li);
      live.questions++;
    }
    sortQuestions();
  }

  function loadChat() {
    if (!msgList) return Promise.resolve();
    return Promise.all([api('GET', trackAPI + '/messages'), api('GET', trackAPI + '/questions')]).then(function (rs) {
      if (rs[0].ok) {
        var seen = {};
        rs[0].data.messages.forEach(function (m) { seen[m.id] = true; upsertMessage(m); });
        Array.prototype.forEach.call(msgList.querySelectorAll('[data-id]'), function (li) {
          if (!seen[li.getAttribute('data-id')]) li.remove(); // hidden since
        });
      }
      if (rs[1].ok) {
        var seenQ = {};
        rs[1].data.questions.forEach(function (q) {
          seenQ[q.id] = true;
          voted[q.id] = q.voted;
          upsertQuestion(q);
        });
        Array.prototype.forEach.call(qList.querySelectorAll('[data-id]'), function (li) {
          if (!seenQ[li.getAttribute('data-id')]) li.remove();
        });
        sortQuestions();
      }
    });
  }

  function showFieldError(id, r) {
    var el = $(id);
    if (el) el.textContent = (r.data && r.data.error) || ('The server answered ' + r.status + '.');
  }

  function bindPost(formId, inputId, errId, url, onDone) {
    var form = $(formId);
    if (!form || !canPost) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var input = $(inputId);
      var body = input.value.trim();
      $(errId).textContent = '';
      if (!body) {
        $(errId).textContent = 'Type something first.';
        return;
      }
      api('POST', url, { body: body }).then(function (r) {
        if (r.ok) {
          input.value = '';
          onDone(r.data);
        } else {
          input.setAttribute('aria-invalid', 'true');
          showFieldError(errId, r);
        }
      });
    });
  }
  bindPost('chat-form', 'chat-body', 'chat-error', trackAPI + '/messages', upsertMessage);
  bindPost('qa-form', 'qa-body', 'qa-error', trackAPI + '/questions', upsertQuestion);

  // Tabs: click or arrow keys.
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role=tab]'));
  function select(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute('aria-controls')).hidden = !on;
    });
  }
  tabs.forEach(function (t, i) {
    t.addEventListener('click', function () { select(t); });
    t.addEventListener('keydown', function (e) {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      var n = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
      select(n);
      n.focus();
    });
  });

  // ---- the live channel, or polling ----

  var pollTimer = null, chatTick = 0, backoff = 1000;

  function poll() {
    api('GET', trackAPI).then(function (r) {
      if (r.ok && live.mode === 'poll') {
        applyOnAir(r.data.on_air, Math.random() * 1000);
        showViewers(r.data.viewers);
        if (r.data.live && kast.retry) kast.retry(0);
      }
    });
    if (chatTick++ % 2 === 0) loadChat();
  }

  function startPoll() {
    if (live.mode === 'poll') return;
    live.mode = 'poll';
    clearInterval(pollTimer);
    pollTimer = setInterval(poll, POLL_MS);
    poll();
  }

  function handle(m) {
    switch (m.type) {
      case 'hello':
      case 'viewers':
        (m.viewers || m.tracks || []).forEach(function (c) { if (c.track === track) showViewers(c.viewers); });
        break;
      case 'on_air':
        if (m.track === track) applyOnAir(m.talk, m.switch_delay_ms);
        break;
      case 'chat':
        upsertMessage(m.message);
        break;
      case 'question':
        upsertQuestion(m.question);
        break;
    }
  }

  function connect() {
    if (!window.WebSocket) return startPoll();
    var opened = false;
    var ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/events/' + enc(ev) + '/live');
    } catch (e) {
      return startPoll();
    }
    ws.onopen = function () {
      opened = true;
      backoff = 1000;
      live.mode = 'ws';
      clearInterval(pollTimer);
      loadChat(); // whatever was said while disconnected
    };
    ws.onmessage = function (e) {
      try { handle(JSON.parse(e.data)); } catch (err) { /* not ours */ }
    };
    ws.onclose = function () {
      startPoll();
      // A channel that never opened is probably not served here: try
      // again now and then; one that dropped comes back soon.
      setTimeout(connect, opened ? backoff : 30000);
      if (opened) backoff = Math.min(backoff * 2, 30000);
    };
  }

  // Events of registered attendees: a playback token (a cookie the HLS
  // requests carry), renewed before it expires. A server without the
  // playback gate has no such endpoint, and plays without one.
  function playbackToken() {
    api('GET', '/api/v1/events/' + enc(ev) + '/playback-token').then(function (r) {
      if (r.ok && r.data && r.data.required) {
        if (kast.retry) kast.retry(0);
        setTimeout(playbackToken, Math.max(30, r.data.refresh_in_s || 300) * 1000);
      } else if (r.status === 401 || r.status === 403) {
        var s = $('status');
        if (s) s.textContent = (r.data && r.data.error) || 'Log in to watch.';
      }
    });
  }

  if (canWatch && gated) playbackToken();
  api('GET', trackAPI).then(function (r) {
    if (r.ok) {
      applyOnAir(r.data.on_air, 0);
      showViewers(r.data.viewers);
    }
  });
  connect();
})();
