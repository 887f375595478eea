// kast event home: keeps "now" and "next" on the timetable right as time
// passes, and adds the viewer's own clock time where its zone differs
// from the event's.
(function () {
  'use strict';
  var tzEl = document.querySelector('[data-event-tz]');
  var eventTZ = tzEl && tzEl.getAttribute('data-event-tz');
  var viewerTZ = '';
  try { viewerTZ = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { /* old browser */ }

  function offsetAt(tz, d) {
    // Minutes east of UTC of tz at d, from the formatted parts.
    var f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    var p = {};
    f.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    var asUTC = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute);
    return Math.round((asUTC - Math.floor(d.getTime() / 60000) * 60000) / 60000);
  }

  if (eventTZ && viewerTZ && viewerTZ !== eventTZ) {
    var now = new Date();
    var differs = false;
    try { differs = offsetAt(eventTZ, now) !== offsetAt(viewerTZ, now); } catch (e) { differs = false; }
    if (differs) {
      tzEl.textContent = ' (your time, ' + viewerTZ + ', in brackets)';
      var fmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
      document.querySelectorAll('time[data-local]').forEach(function (t) {
        var d = new Date(t.getAttribute('datetime'));
        if (isNaN(d)) return;
        var s = document.createElement('span');
        s.className = 'local-time';
        s.textContent = ' (' + fmt.format(d) + ')';
        t.after(s);
      });
    }
  }

  function mark() {
    var now = Date.now();
    var nextByTrack = {};
    document.querySelectorAll('.slot').forEach(function (el) {
      var s = +el.getAttribute('data-start'), e = +el.getAttribute('data-end');
      el.classList.toggle('now', s <= now && now < e);
      el.classList.remove('next');
      var tr = el.getAttribute('data-track');
      if (s > now && (!nextByTrack[tr] || s < +nextByTrack[tr].getAttribute('data-start'))) nextByTrack[tr] = el;
    });
    Object.keys(nextByTrack).forEach(function (k) { nextByTrack[k].classList.add('next'); });
  }
  mark();
  setInterval(mark, 30000);
})();
