// kast organizer pages: new events, tracks and organizers; stream keys
// rotated and copied; the on-air switch; the ingest health and the
// viewers of each track, refreshed every 2 s; the timetable import with
// its preview. Everything goes through the JSON API with the organizer's
// cookie.
(function () {
  'use strict';
  var F = window.kastForms;
  var enc = encodeURIComponent;
  var $ = function (id) { return document.getElementById(id); };

  // waitForms runs f once forms.js has defined kastForms (both deferred,
  // forms.js last in the page).
  function ready(f) {
    if (window.kastForms) { F = window.kastForms; f(); } else document.addEventListener('DOMContentLoaded', function () { F = window.kastForms; f(); });
  }

  function copyButtons(scope) {
    scope.querySelectorAll('button.copy').forEach(function (b) {
      if (b.dataset.bound) return;
      b.dataset.bound = '1';
      b.addEventListener('click', function () {
        var src = b.parentNode.querySelector('[data-copy-src]');
        var text = src ? src.textContent : '';
        var done = function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () { select(src); });
        else { select(src); try { document.execCommand('copy'); done(); } catch (e) { /* selected: the user copies */ } }
      });
    });
  }
  function select(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }

  ready(function () {
    copyButtons(document);

    // /admin: new event, organizers.
    F.bind($('event-form'), 'POST', '/api/v1/events', function (r) { location.assign('/admin/e/' + enc(r.data.slug)); });
    var orgList = $('organizers');
    function loadOrganizers() {
      F.api('GET', '/api/v1/organizers').then(function (r) {
        if (!r.ok) return;
        orgList.textContent = '';
        r.data.forEach(function (a) {
          var li = document.createElement('li');
          li.textContent = a.name + ' <' + a.email + '> ';
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'linkish';
          b.textContent = 'Remove';
          b.addEventListener('click', function () { F.api('DELETE', '/api/v1/organizers/' + a.id).then(loadOrganizers); });
          li.append(b);
          orgList.append(li);
        });
      });
    }
    if (orgList) {
      loadOrganizers();
      F.bind($('organizer-form'), 'POST', '/api/v1/organizers', function () {
        $('organizer-form').reset();
        loadOrganizers();
      }, 'org-');
    }

    var page = $('admin-event');
    if (!page) return;
    var ev = page.getAttribute('data-event');

    F.bind($('track-form'), 'POST', '/api/v1/events/' + enc(ev) + '/tracks', function (r) {
      $('new-key').textContent = 'Track created. Its stream key (shown once): ' + r.data.stream_key + ' — reloading…';
      setTimeout(function () { location.reload(); }, 2500);
    }, 'tr-');

    document.querySelectorAll('.admin-track').forEach(function (card) {
      var track = card.getAttribute('data-track');
      var base = '/api/v1/tracks/' + enc(track);

      card.querySelector('[data-rotate]').addEventListener('click', function (e) {
        var btn = e.currentTarget;
        if (!confirm('Make a new stream key for ' + track + '? The encoder using the current key is cut off.')) return;
        btn.disabled = true;
        F.api('POST', base + '/stream-key').then(function (r) {
          btn.disabled = false;
          var msg = card.querySelector('[data-rotate-msg]');
          if (!r.ok) { msg.textContent = (r.data && r.data.error) || 'Rotation failed.'; return; }
          var key = card.querySelector('[data-key]');
          key.textContent = r.data.stream_key;
          key.classList.add('fresh');
          card.querySelector('[data-key-copy]').hidden = false;
          msg.textContent = r.data.publisher_dropped ? 'New key. The publisher was cut off: put the new key into OBS.' : 'New key: put it into OBS. It is shown only now.';
        });
      });

      card.querySelectorAll('.switch').forEach(function (b) {
        b.addEventListener('click', function () {
          var id = +b.getAttribute('data-talk');
          F.api('PUT', base + '/on-air', { talk_id: id || null }).then(function (r) {
            if (!r.ok) { alert((r.data && r.data.error) || 'The switch failed.'); return; }
            card.querySelectorAll('.switch').forEach(function (o) {
              var on = o === b;
              o.classList.toggle('current', on);
              o.setAttribute('aria-pressed', on ? 'true' : 'false');
            });
          });
        });
      });

      var h = function (k) { return card.querySelector('[data-h="' + k + '"]'); };
      function refresh() {
        F.api('GET', base + '/ingest').then(function (r) {
          if (!r.ok) return;
          var d = r.data;
          var badge = card.querySelector('[data-live]');
          badge.classList.toggle('on', d.live);
          badge.textContent = d.live ? '● Live' : 'Off air';
          if (d.protocol) {
            h('publisher').textContent = d.protocol.toUpperCase() + ' from ' + d.address + ' since ' + new Date(d.since).toLocaleTimeString();
            h('bitrate').textContent = d.bitrate >= 1e6 ? (d.bitrate / 1e6).toFixed(2) + ' Mbit/s' : Math.round(d.bitrate / 1000) + ' kbit/s';
            h('fps').textContent = d.fps.toFixed(1) + ' fps';
            h('keyframe').textContent = d.keyframe_interval ? d.keyframe_interval.toFixed(1) + ' s' : 'waiting for two keyframes';
            h('video').textContent = d.video ? d.video + ' (' + d.codecs.join(', ') + ')' : 'none';
            h('audio').textContent = d.audio || 'none';
            h('bframes').textContent = d.b_frames ? 'yes' : 'no';
          } else {
            h('publisher').textContent = 'nobody is publishing';
            ['bitrate', 'fps', 'keyframe', 'video', 'audio', 'bframes'].forEach(function (k) { h(k).textContent = '–'; });
          }
          h('keyframe').classList.toggle('bad', d.keyframe_interval > 2);
          h('bframes').classList.toggle('bad', d.b_frames);
          var ul = card.querySelector('[data-warnings]');
          ul.textContent = '';
          d.warnings.forEach(function (w) {
            var li = document.createElement('li');
            li.className = 'warning';
            li.setAttribute('data-code', w.code);
            li.textContent = w.message;
            ul.append(li);
          });
          card.querySelector('[data-viewers-now]').textContent = String(d.viewers);
          chart(card.querySelector('[data-chart]'), d.viewers_history);
        });
      }
      refresh();
      setInterval(refresh, 2000);
    });

    // chart draws the viewers of the last hour as an inline SVG line.
    var SVG = 'http://www.w3.org/2000/svg';
    function chart(el, pts) {
      var W = 300, H = 80, now = Date.now(), hour = 3600e3;
      var maxV = Math.max(1, Math.max.apply(null, pts.map(function (p) { return p.viewers; })));
      var svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('viewBox', '0 0 ' + W + ' ' + (H + 14));
      svg.setAttribute('class', 'spark');
      var axis = document.createElementNS(SVG, 'path');
      axis.setAttribute('d', 'M0 ' + H + 'H' + W);
      axis.setAttribute('class', 'axis');
      svg.append(axis);
      if (pts.length) {
        var d = pts.map(function (p, i) {
          var x = Math.max(0, W - (now - new Date(p.at).getTime()) / hour * W);
          var y = H - p.viewers / maxV * (H - 4);
          return (i ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
        }).join('');
        var line = document.createElementNS(SVG, 'path');
        line.setAttribute('d', d);
        line.setAttribute('class', 'line');
        svg.append(line);
      }
      [['−60 min', 0, 'start'], ['now', W, 'end']].forEach(function (l) {
        var t = document.createElementNS(SVG, 'text');
        t.setAttribute('x', l[1]);
        t.setAttribute('y', H + 12);
        t.setAttribute('text-anchor', l[2]);
        t.textContent = l[0];
        svg.append(t);
      });
      var top = document.createElementNS(SVG, 'text');
      top.setAttribute('x', 2);
      top.setAttribute('y', 10);
      top.textContent = 'max ' + maxV;
      svg.append(top);
      el.textContent = '';
      el.setAttribute('aria-label', 'Viewers over the last hour: at most ' + maxV + ', now ' + (pts.length ? pts[pts.length - 1].viewers : 0));
      el.append(svg);
    }

    // The timetable import: preview (dry run), then apply the same input.
    var form = $('import-form');
    var pending = null;
    function send(dry) {
      var file = $('tt-file').files[0], url = $('tt-url').value.trim();
      var err = $('import-error');
      err.textContent = '';
      if (file) {
        var ct = /\.xml$/i.test(file.name) ? 'application/xml' : 'application/json';
        return file.arrayBuffer().then(function (buf) {
          return fetch('/api/v1/events/' + enc(ev) + '/timetable?dry_run=' + dry, { method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': ct }, body: buf })
            .then(function (res) { return res.json().then(function (d) { return { ok: res.ok, data: d }; }); });
        });
      }
      if (url) return F.api('POST', '/api/v1/events/' + enc(ev) + '/timetable/sync', { url: url, dry_run: dry });
      return Promise.resolve({ ok: false, data: { error: 'Choose a file or type a URL.' } });
    }
    function list(title, items, fmt) {
      if (!items.length) return null;
      var sec = document.createElement('div');
      var h = document.createElement('h4');
      h.textContent = title + ' (' + items.length + ')';
      var ul = document.createElement('ul');
      items.forEach(function (x) {
        var li = document.createElement('li');
        li.textContent = fmt(x);
        ul.append(li);
      });
      sec.append(h, ul);
      return sec;
    }
    var talkFmt = function (t) { return (t.start ? t.start.slice(0, 16).replace('T', ' ') + ' ' : '') + t.title; };
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      send(true).then(function (r) {
        if (!r.ok) { $('import-error').textContent = (r.data && r.data.error) || 'The import failed.'; return; }
        var d = r.data, box = $('import-diff');
        box.textContent = '';
        var parts = [
          list('New tracks', d.tracks.added, String), list('Renamed tracks', d.tracks.updated, String), list('Removed tracks', d.tracks.removed, String),
          list('New talks', d.talks.added, talkFmt), list('Changed talks', d.talks.updated, talkFmt), list('Removed talks', d.talks.removed, talkFmt),
        ].filter(Boolean);
        var p = document.createElement('p');
        p.textContent = d.changed ? (d.unchanged + ' talks unchanged. Format: ' + d.format + '.') : 'Nothing changes: the timetable is already up to date.';
        box.append(p);
        parts.forEach(function (x) { box.append(x); });
        $('import-apply').hidden = !d.changed;
        $('import-preview').hidden = false;
        $('import-done').hidden = true;
        pending = true;
        $('import-preview').querySelector('h3').focus && $('import-preview').scrollIntoView({ block: 'nearest' });
      });
    });
    $('import-apply').addEventListener('click', function () {
      if (!pending) return;
      send(false).then(function (r) {
        pending = null;
        $('import-preview').hidden = true;
        var done = $('import-done');
        if (!r.ok) { $('import-error').textContent = (r.data && r.data.error) || 'The import failed.'; return; }
        done.textContent = 'Imported: ' + r.data.talks.added.length + ' new, ' + r.data.talks.updated.length + ' changed, ' + r.data.talks.removed.length + ' removed talks. Reloading…';
        done.hidden = false;
        setTimeout(function () { location.reload(); }, 1500);
      });
    });
    $('import-cancel').addEventListener('click', function () { pending = null; $('import-preview').hidden = true; });
  });
})();
