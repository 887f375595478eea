// kast forms: send a page's form to the JSON API and show the API's
// messages beside the field they name (the server's rules, one place).
// Also the header's log-out buttons. window.kastForms is shared with the
// other page scripts.
(function () {
  'use strict';

  // api sends body as JSON and resolves to {ok, status, data}.
  function api(method, url, body) {
    var opts = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      var ct = res.headers.get('Content-Type') || '';
      var p = ct.indexOf('json') >= 0 ? res.json() : Promise.resolve(null);
      return p.then(function (data) { return { ok: res.ok, status: res.status, data: data }; });
    }, function () {
      return { ok: false, status: 0, data: { error: 'The server cannot be reached: check your connection and try again.' } };
    });
  }

  // clear removes the messages of a form.
  function clear(form) {
    form.querySelectorAll('.field-error, .form-error').forEach(function (el) { el.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(function (el) { el.removeAttribute('aria-invalid'); });
  }

  // showError puts the API's error beside its field (id prefix + field +
  // "-error"), or at the top of the form.
  function showError(form, res, prefix) {
    var d = res.data || {};
    var msg = d.error || ('The server answered ' + res.status + '.');
    if (res.status === 429) msg = d.error || 'Too many attempts: wait a little and try again.';
    var field = d.field ? d.field.replace(/\[.*$/, '') : '';
    var el = field && document.getElementById((prefix || '') + field + '-error');
    if (el) {
      el.textContent = msg;
      var input = document.getElementById((prefix || '') + field) || form.querySelector('[name="' + field + '"]');
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    } else {
      var top = form.querySelector('.form-error');
      if (top) {
        top.textContent = msg;
        top.focus && top.setAttribute('tabindex', '-1');
        top.focus();
      }
    }
  }

  // values reads a form's named inputs: checkboxes as booleans, numbers
  // as numbers, radios by the checked one, empty files skipped.
  function values(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === 'file' || el.type === 'submit') return;
      if (el.type === 'checkbox') out[el.name] = el.checked;
      else if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; }
      else if (el.type === 'number') out[el.name] = el.value === '' ? 0 : Number(el.value);
      else out[el.name] = el.value;
    });
    return out;
  }

  // bind submits form with fn(values) -> promise of {ok,...}; then(res)
  // runs on success.
  function bind(form, method, url, then, prefix, shape) {
    if (!form) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clear(form);
      var btn = form.querySelector('[type=submit]');
      if (btn) btn.disabled = true;
      var body = values(form);
      if (shape) body = shape(body);
      api(method, typeof url === 'function' ? url() : url, body).then(function (res) {
        if (btn) btn.disabled = false;
        if (res.ok) then(res);
        else showError(form, res, prefix);
      });
    });
  }

  window.kastForms = { api: api, bind: bind, clear: clear, showError: showError, values: values };

  var reg = document.getElementById('register-form');
  bind(reg, 'POST', reg && reg.getAttribute('data-api'), function () {
    location.assign(reg.getAttribute('data-next') || '/');
  });
  var login = document.getElementById('login-form');
  bind(login, 'POST', login && login.getAttribute('data-api'), function () {
    location.assign(login.getAttribute('data-next') || '/');
  });
  var admin = document.getElementById('admin-login');
  bind(admin, 'POST', '/api/v1/admin/session', function () {
    var next = new URLSearchParams(location.search).get('next');
    location.assign(next && next.charAt(0) === '/' && next.charAt(1) !== '/' ? next : '/admin');
  });

  document.querySelectorAll('[data-logout]').forEach(function (b) {
    b.addEventListener('click', function () {
      api('DELETE', '/api/v1/session').then(function () { location.reload(); });
    });
  });
  document.querySelectorAll('[data-admin-logout]').forEach(function (b) {
    b.addEventListener('click', function () {
      api('DELETE', '/api/v1/admin/session').then(function () { location.assign('/'); });
    });
  });
})();
