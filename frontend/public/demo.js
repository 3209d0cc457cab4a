// The demo shop's script (kept out of demo.html: the app's
// Content-Security-Policy allows no inline script). It loads the chat widget
// for the key in ?key=, but only for signed-in staff of that key's workspace:
// the console's session token (same origin) must belong to the tenant whose
// widget key it is. Otherwise anyone could show any tenant's widget on the
// service's own domain. A server started with KEFU_PUBLIC_DEMO=true marks
// the page public, and the widget then runs for everyone.
(function () {
  var text = {
    en: {
      nokey: 'No widget key given. This sample shop shows your Kefu chat widget. Sign up at /signup (or log in), open Settings → Widget and click “Open demo page”.',
      denied:
        'The demo page shows a workspace’s chat widget to that workspace’s staff only. Log in to the console as a member of the workspace, then open the demo page from Settings → Widget.',
      login: 'Log in',
    },
    zh: {
      nokey: '没有提供插件密钥。这个示例商店用来展示您的 Kefu 聊天插件。请在 /signup 注册（或登录），打开“设置 → 聊天插件”，点击“打开演示页面”。',
      denied: '演示页面只向该工作区的成员展示其聊天插件。请以该工作区成员的身份登录控制台，然后从“设置 → 聊天插件”打开演示页面。',
      login: '登录',
    },
  };
  function language() {
    var saved = null;
    try {
      saved = localStorage.getItem('kefu:lang');
    } catch (e) {
      /* storage unavailable */
    }
    if (saved === 'zh-CN') return 'zh';
    if (saved === 'en') return 'en';
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf('zh') === 0) return 'zh';
      if (l.indexOf('en') === 0) return 'en';
    }
    return 'en';
  }
  var t = text[language()];
  document.documentElement.lang = language() === 'zh' ? 'zh-CN' : 'en';

  function show(id, message, withLogin) {
    var el = document.getElementById(id);
    el.textContent = message;
    if (withLogin) {
      var p = document.createElement('p');
      var a = document.createElement('a');
      a.href = '/login';
      a.textContent = t.login;
      a.setAttribute('data-testid', 'demo-login');
      p.appendChild(a);
      el.appendChild(p);
    }
    el.hidden = false;
  }
  function loadWidget(key) {
    var s = document.createElement('script');
    s.src = '/widget.js';
    s.async = true;
    s.setAttribute('data-key', key);
    document.body.appendChild(s);
  }

  var key = new URLSearchParams(location.search).get('key');
  if (!key) {
    show('nokey', t.nokey, false);
    return;
  }
  var meta = document.querySelector('meta[name="kefu-demo"]');
  if (meta && meta.getAttribute('content') === 'public') {
    loadWidget(key);
    return;
  }
  var token = null;
  try {
    token = localStorage.getItem('kefu:token');
  } catch (e) {
    /* storage unavailable */
  }
  if (!token) {
    show('denied', t.denied, true);
    return;
  }
  fetch('/api/v1/me', { headers: { Authorization: 'Bearer ' + token } })
    .then(function (res) {
      return res.ok ? res.json() : null;
    })
    .then(function (me) {
      if (me && me.tenant && me.tenant.widget_key === key && me.user && me.user.type !== 'api_key') loadWidget(key);
      else show('denied', t.denied, true);
    })
    .catch(function () {
      show('denied', t.denied, true);
    });
})();
