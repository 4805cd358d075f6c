/*!
 * 绩效报告问答 — embeddable chat widget (plain JavaScript, no build step, no external resources).
 *
 * Embedding (one tag on any intranet page):
 *   <script src="https://qa.example/widget.js" data-api="https://qa.example" data-key="WIDGET_KEY" async></script>
 *
 *   data-api  base URL of the 绩效报告问答 API; empty or missing = the origin this script was loaded from.
 *   data-key  optional widget key; when present every API request sends `Authorization: Bearer <key>`.
 *
 * Everything is rendered inside the open Shadow DOM of one <jixiao-qa-widget> element appended to <html>:
 * no global styles, and widget.css (loaded from the same place as this script) applies inside it only.
 * The conversation is kept in sessionStorage under "jixiaoqa:v1:<api base>" and survives a reload.
 * Before its first question the widget asks the API for a short-lived visitor session (POST /v1/widget/session)
 * and sends it as X-QA-Session, so rate limits count per visitor rather than per page key or proxy address.
 *
 * Public JavaScript API — the only global this script defines:
 *   window.JixiaoQA.version            "1.0.0"
 *   window.JixiaoQA.open()             open the panel (focus moves into the question box)
 *   window.JixiaoQA.close()            close the panel (focus returns to the floating button)
 *   window.JixiaoQA.toggle()
 *   window.JixiaoQA.isOpen()           → boolean
 *   window.JixiaoQA.ask(question, {filters}?)
 *                                      open the panel and ask (a running answer is stopped first);
 *                                      → Promise of the final answer object, or null (error, stopped, empty)
 *   window.JixiaoQA.stop()             stop the running answer, if any
 *   window.JixiaoQA.clear()            清空对话 (also forgets the stored conversation and visitor session)
 * When the API is ready the script dispatches `jixiaoqa:ready` on document; the object also exists from then on.
 */
(function () {
  "use strict";

  if (window.JixiaoQA) return; // included twice: the first copy wins

  /* @include source-view.js */

  var VERSION = "1.0.0";
  var MAX_QUESTION = 2000;
  var MAX_HISTORY_MESSAGES = 20; // sent to the API (the API accepts at most 50)
  var MAX_HISTORY_CHARS = 8000; // per message
  var MAX_STORED_MESSAGES = 60;

  var T = {
    launcher: "打开绩效报告问答",
    launcherText: "问答",
    title: "绩效报告问答",
    dialog: "绩效报告问答",
    clear: "清空对话",
    close: "关闭问答窗口",
    log: "对话记录",
    inputLabel: "输入问题",
    placeholder: "请输入问题，例如：哪些单位提到预算编制不够细化？",
    hint: "回车发送，Shift+回车换行",
    send: "发送",
    stop: "停止",
    stopLabel: "停止生成回答",
    welcome: "您好！我可以回答已收录的预算绩效报告中的问题。回答中的编号（如 1）可点击，查看报告原文中被引用的段落。",
    empty: "请输入问题后再发送。",
    tooLong: "问题过长，最多 " + MAX_QUESTION + " 个字。",
    busy: "正在回答上一个问题，请稍候，或点击“停止”。",
    pending: "正在检索报告",
    stopped: "（已停止）",
    network: "无法连接问答服务，请检查网络连接或稍后再试。",
    auth: "密钥无效或无权限，请联系系统管理员。",
    rate: "请求过于频繁，请稍后再试。",
    server: "服务暂时不可用，请稍后再试。",
    notFound: "未找到问答接口，请检查 data-api 地址。",
    badRequest: "请求有误",
    interrupted: "回答中断：与服务的连接已断开。",
    badResponse: "服务返回了无法识别的内容。",
    retry: "重试",
    copy: "复制回答",
    copied: "已复制",
    copyFailed: "复制失败，请手动选择文本复制",
    count: function (shown, total) {
      return total > shown ? "共 " + total + " 个单位（已显示 " + shown + " 个）" : "共 " + shown + " 个单位";
    },
    more: function (n) { return "显示更多（还有 " + n + " 个单位）"; },
    loadingMore: "正在加载更多单位…",
    moreFailed: "加载失败，请重试。",
    colNo: "序号",
    colUnit: "单位",
    colEvidence: "证据",
    tableCaption: "各单位及证据",
    related: "相近表述（未计入）",
    sources: "来源",
    nearest: "最接近的段落（仅供参考）",
    rawAnswer: "查看回答原文",
    resolved: "已理解为：",
    chip: function (c) { return "查看引用 " + c.id + "：" + (c.unit || c.title || c.source) + (c.section ? "，" + c.section : ""); },
    back: "← 返回对话",
    backLabel: "返回对话",
    viewer: "报告原文",
    loadingDoc: "正在加载原文…",
    docMissing: "原文不存在（报告可能已被删除）。",
    docError: "原文加载失败：",
    citedPassage: "被引用的段落",
    year: function (y) { return y + "年"; },
    retryAfter: function (s) { return "（约 " + s + " 秒后可重试）"; },
  };

  // ---- configuration from the <script> tag --------------------------------------------------------
  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll("script[src]");
    for (var i = candidates.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(candidates[i].src)) { script = candidates[i]; break; }
    }
  }
  var scriptUrl = new URL(script && script.src ? script.src : "widget.js", document.baseURI);
  var apiAttr = script ? (script.getAttribute("data-api") || "").trim() : "";
  var API = (apiAttr ? new URL(apiAttr, document.baseURI).href : scriptUrl.origin).replace(/\/+$/, "");
  var KEY = script ? (script.getAttribute("data-key") || "").trim() : "";
  var CSS_URL = new URL("widget.css", scriptUrl).href;
  var STORE_KEY = "jixiaoqa:v1:" + API;

  // ---- tiny DOM helper ----------------------------------------------------------------------------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
        if (k === "text") el.textContent = attrs[k];
        else if (k === "class") el.className = attrs[k];
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
        else el.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
      }
    }
    for (var j = 2; j < arguments.length; j++) {
      var child = arguments[j];
      if (child == null || child === false) continue;
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return el;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute(
      "d",
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z"
    );
    svg.appendChild(path);
    return svg;
  }

  // ---- the shadow root ----------------------------------------------------------------------------
  var host = document.createElement("jixiao-qa-widget");
  var shadow = host.attachShadow({ mode: "open" });
  // Critical rules, inline so they hold before widget.css arrives. `!important` inside a shadow tree beats
  // `!important` from the host page (e.g. `* { all: unset !important }`) on the host element itself.
  var critical = h(
    "style",
    null,
    ":host{all:initial !important;display:block !important;position:fixed !important;top:auto !important;" +
      "left:auto !important;right:0 !important;bottom:0 !important;width:0 !important;height:0 !important;" +
      "margin:0 !important;padding:0 !important;border:0 !important;z-index:2147483000 !important;" +
      "visibility:visible !important;opacity:1 !important;transform:none !important;filter:none !important;" +
      "contain:none !important;pointer-events:auto !important;overflow:visible !important}" +
      ".jx-root{visibility:hidden}"
  );
  var sheet = h("link", { rel: "stylesheet", href: CSS_URL });
  var root = h("div", { class: "jx-root", lang: "zh-CN" });
  sheet.addEventListener("error", function () {
    root.style.visibility = "visible"; // unstyled but usable beats invisible
  });
  shadow.appendChild(critical);
  shadow.appendChild(sheet);
  shadow.appendChild(root);

  var launcher = h(
    "button",
    {
      type: "button",
      class: "jx-launcher",
      "aria-label": T.launcher,
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "jx-panel",
    },
    icon(),
    h("span", { text: T.launcherText, "aria-hidden": "true" })
  );

  var clearBtn = h("button", { type: "button", class: "jx-clear", text: T.clear });
  var closeBtn = h("button", { type: "button", class: "jx-close", "aria-label": T.close, title: T.close, text: "×" });
  var header = h("div", { class: "jx-header" }, h("h2", { class: "jx-title", id: "jx-title", text: T.title }), clearBtn, closeBtn);

  var log = h("div", { class: "jx-log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "-1" });
  var chat = h("div", { class: "jx-chat" }, log);

  var backBtn = h("button", { type: "button", class: "jx-back", "aria-label": T.backLabel, text: T.back });
  var viewerTitle = h("h3", { class: "jx-viewer-title", id: "jx-viewer-title" });
  var viewerMeta = h("p", { class: "jx-viewer-meta" });
  var docBox = h("div", { class: "jx-doc", tabindex: "0", role: "document", "aria-label": T.viewer });
  var viewer = h(
    "div",
    { class: "jx-viewer", role: "region", "aria-labelledby": "jx-viewer-title", hidden: true },
    h("div", { class: "jx-viewer-head" }, backBtn, viewerTitle, viewerMeta),
    docBox
  );

  var input = h("textarea", {
    id: "jx-input",
    class: "jx-input",
    rows: "2",
    maxlength: String(MAX_QUESTION + 200),
    placeholder: T.placeholder,
    "aria-describedby": "jx-input-error",
    enterkeyhint: "send",
  });
  var sendBtn = h("button", { type: "submit", class: "jx-send", text: T.send });
  var stopBtn = h("button", { type: "button", class: "jx-stop", "aria-label": T.stopLabel, text: T.stop, disabled: true });
  var inputError = h("p", { class: "jx-input-error", id: "jx-input-error", role: "alert" });
  var form = h(
    "form",
    { class: "jx-form", novalidate: true },
    h("label", { class: "jx-sr", for: "jx-input", text: T.inputLabel }),
    h("div", { class: "jx-row" }, input, sendBtn, stopBtn),
    inputError,
    h("p", { class: "jx-hint", text: T.hint })
  );

  var panel = h(
    "section",
    { class: "jx-panel", id: "jx-panel", role: "dialog", "aria-modal": "false", "aria-label": T.dialog, hidden: true },
    header,
    chat,
    viewer,
    form
  );
  root.appendChild(launcher);
  root.appendChild(panel);

  // ---- state ------------------------------------------------------------------------------------
  // messages: {role: "user", content} | {role: "assistant", content, answer?, status: "done"|"stopped"|"error"|"streaming", error?}
  var state = { messages: [], busy: false, controller: null, viewerTrigger: null, viewerToken: 0, follow: true };
  var docCache = new Map();

  function load() {
    try {
      var raw = window.sessionStorage.getItem(STORE_KEY);
      var data = raw ? JSON.parse(raw) : null;
      if (data && Array.isArray(data.messages)) {
        state.messages = data.messages.filter(function (m) {
          return m && (m.role === "user" || m.role === "assistant") && typeof m.content === "string";
        });
        state.messages.forEach(function (m) {
          if (m.status === "streaming") { m.status = "stopped"; }
        });
      }
    } catch (e) {
      state.messages = [];
    }
  }

  function save() {
    try {
      var messages = state.messages.slice(-MAX_STORED_MESSAGES);
      if (messages.length) window.sessionStorage.setItem(STORE_KEY, JSON.stringify({ v: 1, messages: messages }));
      else window.sessionStorage.removeItem(STORE_KEY);
    } catch (e) {
      /* storage full or disabled: the conversation just does not survive a reload */
    }
  }

  function stripMarkers(text) {
    return text.replace(/\s*\[\d+(?:\s*[,，、]\s*\d+)*\]/g, "").trim();
  }

  /** Previous questions and their answers as plain text; failed or empty turns are left out. */
  function historyFor(messages) {
    var out = [];
    for (var i = 0; i < messages.length; i++) {
      var m = messages[i];
      if (m.role !== "user") continue;
      var reply = messages[i + 1];
      if (!reply || reply.role !== "assistant" || reply.status === "error" || reply.status === "streaming") continue;
      var answer = stripMarkers(reply.content || "");
      if (!answer) continue;
      out.push({ role: "user", content: m.content.slice(0, MAX_HISTORY_CHARS) });
      out.push({ role: "assistant", content: answer.slice(0, MAX_HISTORY_CHARS) });
    }
    return out.slice(-MAX_HISTORY_MESSAGES);
  }

  // ---- rendering --------------------------------------------------------------------------------
  function citationMap(answer) {
    var map = new Map();
    ((answer && answer.citations) || []).forEach(function (c) { map.set(String(c.id), c); });
    return map;
  }

  function chip(c) {
    return h("button", {
      type: "button",
      class: "jx-chip",
      "data-cid": String(c.id),
      "aria-label": T.chip(c),
      title: (c.unit || c.title || c.source) + (c.section ? " · " + c.section : ""),
      text: String(c.id),
      onclick: function (ev) { openViewer(c, ev.currentTarget); },
    });
  }

  /** Text with [n] / [1, 2] markers turned into citation chips (only for ids that exist). */
  function richText(el, text, cites) {
    var re = /\[(\d+(?:\s*[,，、]\s*\d+)*)\]/g;
    var last = 0;
    var m;
    while ((m = re.exec(text))) {
      var ids = m[1].split(/[,，、]/).map(function (s) { return s.trim(); });
      if (!ids.every(function (id) { return cites.has(id); })) continue;
      if (m.index > last) el.appendChild(document.createTextNode(text.slice(last, m.index)));
      ids.forEach(function (id) { el.appendChild(chip(cites.get(id))); });
      last = re.lastIndex;
    }
    if (last < text.length) el.appendChild(document.createTextNode(text.slice(last)));
    return el;
  }

  function unitName(u) {
    return u.unit || u.source || "";
  }

  function evidenceCell(u, cites) {
    var td = h("td");
    (u.citation_ids || []).forEach(function (id) {
      var c = cites.get(String(id));
      if (!c) return;
      td.appendChild(h("div", { class: "jx-evidence" }, c.text, chip(c)));
    });
    return td;
  }

  /** The table of units; `more` (a button, or null) follows it when the answer has further pages. */
  function aggregateView(answer, cites, more) {
    var units = answer.units || [];
    var tbody = h("tbody");
    units.forEach(function (u, i) {
      tbody.appendChild(
        h("tr", null, h("td", { text: String(i + 1) }), h("td", { text: unitName(u), title: u.source }), evidenceCell(u, cites))
      );
    });
    return h(
      "div",
      { class: "jx-agg" },
      h("p", { class: "jx-count", text: T.count(units.length, answer.total_units || units.length) }),
      h(
        "div",
        { class: "jx-table-wrap" },
        h(
          "table",
          { class: "jx-table" },
          h("caption", { class: "jx-sr", text: T.tableCaption }),
          h(
            "thead",
            null,
            h(
              "tr",
              null,
              h("th", { scope: "col", text: T.colNo }),
              h("th", { scope: "col", text: T.colUnit }),
              h("th", { scope: "col", text: T.colEvidence })
            )
          ),
          tbody
        )
      ),
      more
    );
  }

  /** Appends the next page of an aggregate answer to it: its citations are renumbered after the ones shown. */
  function mergePage(answer, page) {
    var shift = 0;
    answer.citations.forEach(function (c) { if (typeof c.id === "number" && c.id > shift) shift = c.id; });
    (page.citations || []).forEach(function (c) { if (typeof c.id === "number") c.id += shift; });
    (page.units || []).forEach(function (u) {
      u.citation_ids = (u.citation_ids || []).map(function (id) { return id + shift; });
    });
    answer.citations = answer.citations.concat(page.citations || []);
    answer.units = (answer.units || []).concat(page.units || []);
    answer.total_units = page.total_units;
    answer.next_offset = page.next_offset;
  }

  function moreButton(m, index) {
    var answer = m.answer;
    if (!m.request || answer.next_offset == null || !answer.total_units) return null;
    var left = answer.total_units - answer.next_offset;
    var wrap = h("div", { class: "jx-more" });
    var status = h("span", { class: "jx-copy-status", role: "status" });
    var button = h("button", {
      type: "button",
      text: T.more(left),
      onclick: function () { loadMore(m, index, button, status); },
    });
    wrap.appendChild(button);
    wrap.appendChild(status);
    return wrap;
  }

  function loadMore(m, index, button, status) {
    button.disabled = true;
    status.textContent = T.loadingMore;
    var payload = Object.assign({}, m.request, { offset: m.answer.next_offset });
    return ensureSession()
      .then(function () {
        return fetch(API + "/v1/ask", {
          method: "POST",
          headers: headers({ "Content-Type": "application/json" }),
          body: JSON.stringify(payload),
          credentials: "omit",
        });
      })
      .then(function (res) {
        if (!res.ok) return readDetail(res).then(function (detail) { throw new Error(describeFailure(res, detail)); });
        return res.json();
      })
      .then(function (page) {
        mergePage(m.answer, page);
        save();
        if (state.messages[index] === m) renderAt(index);
      })
      .catch(function (err) {
        button.disabled = false;
        status.textContent = err instanceof TypeError ? T.network : (err && err.message) || T.moreFailed;
      });
  }

  function relatedView(related, cites) {
    var list = h("ul");
    related.forEach(function (u) {
      var li = h("li", null, h("span", { class: "jx-unit", text: unitName(u) }), "：");
      (u.citation_ids || []).forEach(function (id) {
        var c = cites.get(String(id));
        if (c) { li.appendChild(document.createTextNode(c.text)); li.appendChild(chip(c)); }
      });
      // Why it was not counted (a measure, not a problem; too vague to decide): the user sees the rule, not a guess.
      if (u.reason) li.appendChild(h("span", { class: "jx-reason", text: "（" + u.reason + "）" }));
      list.appendChild(li);
    });
    return h("section", { class: "jx-related" }, h("h4", { text: T.related }), list);
  }

  function sourcesView(answer, heading) {
    var list = h("ol");
    answer.citations.forEach(function (c) {
      var bits = [c.unit || c.title || c.source, c.year ? T.year(c.year) : "", c.section].filter(Boolean);
      list.appendChild(h("li", null, chip(c), " " + bits.join(" · ")));
    });
    return h("section", { class: "jx-sources" }, h("h4", { text: heading }), list);
  }

  function copyText(m) {
    var text = m.content;
    var cites = (m.answer && m.answer.citations) || [];
    if (cites.length) {
      text += "\n\n" + T.sources + "：\n" + cites.map(function (c) {
        return "[" + c.id + "] " + (c.unit || c.title || "") + "｜" + c.source + "｜" + (c.section || "");
      }).join("\n");
    }
    return text;
  }

  function copyFallback(text) {
    var ta = h("textarea", { class: "jx-sr", readonly: true, "aria-hidden": "true", tabindex: "-1" });
    ta.value = text;
    root.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  }

  function copyAnswer(m, status) {
    var text = copyText(m);
    var done = function (ok) { status.textContent = ok ? T.copied : T.copyFailed; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(
        function () { done(true); },
        function () { done(copyFallback(text)); }
      );
    } else {
      done(copyFallback(text));
    }
  }

  function renderAssistant(m, index) {
    var answer = m.answer;
    var cites = citationMap(answer);
    var bubble = h("div", { class: "jx-bubble" });
    var el = h("div", { class: "jx-msg jx-msg-assistant", "data-index": String(index) }, bubble);

    if (m.status === "error") {
      el.className = "jx-msg jx-msg-error";
      el.setAttribute("role", "alert");
      bubble.appendChild(h("span", { class: "jx-error-text", text: m.error }));
      if (m.retry) {
        bubble.appendChild(h("button", { type: "button", class: "jx-retry", text: T.retry, onclick: function () { retry(index); } }));
      }
      if (m.content) bubble.insertBefore(richText(h("div", { class: "jx-text" }), m.content + "\n", cites), bubble.firstChild);
      return el;
    }

    var prev = state.messages[index - 1];
    if (answer && answer.resolved_question && prev && prev.role === "user" && answer.resolved_question !== prev.content) {
      bubble.appendChild(h("p", { class: "jx-resolved", text: T.resolved + answer.resolved_question }));
    }

    var aggregate = m.status === "done" && answer && answer.kind === "aggregate" && answer.units && answer.units.length;
    if (aggregate) {
      bubble.appendChild(aggregateView(answer, cites, moreButton(m, index)));
      if (answer.related && answer.related.length) bubble.appendChild(relatedView(answer.related, cites));
      bubble.appendChild(
        h("details", { class: "jx-raw" }, h("summary", { text: T.rawAnswer }), richText(h("div", { class: "jx-text" }), m.content, cites))
      );
    } else if (!m.content && m.status === "streaming") {
      bubble.appendChild(h("div", { class: "jx-text jx-pending", text: T.pending }));
    } else {
      bubble.appendChild(richText(h("div", { class: "jx-text" }), m.content, cites));
      if (m.status === "done" && answer && answer.citations && answer.citations.length) {
        bubble.appendChild(sourcesView(answer, answer.kind === "unanswerable" ? T.nearest : T.sources));
      }
    }
    if (m.status === "stopped") bubble.appendChild(h("p", { class: "jx-status-stopped", text: T.stopped }));
    if (m.status === "done" || (m.status === "stopped" && m.content)) {
      var status = h("span", { class: "jx-copy-status", role: "status" });
      bubble.appendChild(
        h(
          "div",
          { class: "jx-tools" },
          h("button", { type: "button", class: "jx-copy", text: T.copy, onclick: function () { copyAnswer(m, status); } }),
          status
        )
      );
    }
    if (m.status === "streaming") el.setAttribute("aria-busy", "true");
    return el;
  }

  function renderMessage(m, index) {
    if (m.role === "user") {
      return h("div", { class: "jx-msg jx-msg-user", "data-index": String(index) }, h("div", { class: "jx-bubble", text: m.content }));
    }
    return renderAssistant(m, index);
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  /** Keep a growing answer in view, but never scroll its question off the top (read from the start). */
  function follow(index) {
    var question = log.querySelector('[data-index="' + (index - 1) + '"]');
    var bottom = log.scrollHeight - log.clientHeight;
    log.scrollTop = question ? Math.min(bottom, Math.max(0, question.offsetTop - 8)) : bottom;
  }

  function renderAll() {
    log.textContent = "";
    if (!state.messages.length) log.appendChild(h("p", { class: "jx-welcome", text: T.welcome }));
    state.messages.forEach(function (m, i) { log.appendChild(renderMessage(m, i)); });
    scrollDown();
  }

  function renderAt(index) {
    var old = log.querySelector('[data-index="' + index + '"]');
    var fresh = renderMessage(state.messages[index], index);
    if (old) log.replaceChild(fresh, old);
    else {
      var welcome = log.querySelector(".jx-welcome");
      if (welcome) welcome.remove();
      log.appendChild(fresh);
    }
    if (state.follow) {
      if (state.messages[index].role === "assistant") follow(index);
      else scrollDown();
    }
  }

  function setBusy(busy) {
    state.busy = busy;
    sendBtn.disabled = busy;
    stopBtn.disabled = !busy;
    log.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function showInputError(text) {
    inputError.textContent = text || "";
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  // ---- talking to the API -----------------------------------------------------------------------
  function headers(extra) {
    var out = { Accept: "application/json" };
    if (KEY) out.Authorization = "Bearer " + KEY;
    if (sessionValid()) out["X-QA-Session"] = session.token;
    for (var k in extra || {}) out[k] = extra[k];
    return out;
  }

  // ---- visitor session --------------------------------------------------------------------------
  // The API limits requests per visitor session (POST /v1/widget/session), not per page key or per proxy
  // address that every visitor shares. Without a session (an older API, a failure) requests still work and
  // are limited by address; a failed attempt is not repeated for a minute.
  var SESSION_KEY = "jixiaoqa:session:" + API;
  var session = null; // {token, expires: ms since epoch, by this browser's clock}
  var sessionPending = null;
  var sessionFailedAt = 0;

  function sessionValid() {
    return !!(session && session.expires - Date.now() > 60000);
  }

  try {
    var storedSession = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || "null");
    if (storedSession && typeof storedSession.token === "string" && typeof storedSession.expires === "number") session = storedSession;
  } catch (e) { /* no stored session */ }

  function ensureSession() {
    if (sessionValid() || Date.now() - sessionFailedAt < 60000) return Promise.resolve();
    if (sessionPending) return sessionPending;
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 3000);
    sessionPending = fetch(API + "/v1/widget/session", { method: "POST", headers: headers(), credentials: "omit", signal: controller.signal })
      .then(function (res) {
        if (!res.ok || !/json/.test(res.headers.get("Content-Type") || "")) throw new Error("no session");
        return res.json();
      })
      .then(function (data) {
        if (!data || typeof data.token !== "string" || !(data.expires_in > 0)) throw new Error("no session");
        session = { token: data.token, expires: Date.now() + data.expires_in * 1000 };
        try { window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(session)); } catch (e) { /* not kept */ }
      })
      .catch(function () {
        controller.abort();
        sessionFailedAt = Date.now();
      })
      .then(function () {
        clearTimeout(timer);
        sessionPending = null;
      });
    return sessionPending;
  }

  function retryAfterSeconds(value) {
    if (!value) return null;
    var n = Number(value);
    if (isFinite(n) && n >= 0) return Math.ceil(n);
    var when = Date.parse(value);
    return isNaN(when) ? null : Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  /** A Chinese message for a failed response (status + the API's {detail}). */
  function describeFailure(res, detail) {
    var s = res.status;
    var suffix = detail ? "（" + detail + "）" : "";
    if (s === 401 || s === 403) return T.auth + suffix;
    if (s === 429) {
      var wait = retryAfterSeconds(res.headers.get("Retry-After"));
      return T.rate + (wait != null ? T.retryAfter(wait) : "");
    }
    if (s >= 500) return T.server + "（HTTP " + s + "）";
    if (s === 404) return detail ? detail : T.notFound;
    return detail || T.badRequest + "（HTTP " + s + "）";
  }

  function readDetail(res) {
    return res.text().then(
      function (body) {
        try {
          var data = JSON.parse(body);
          if (data && typeof data.detail === "string") return data.detail;
        } catch (e) { /* not JSON */ }
        return "";
      },
      function () { return ""; }
    );
  }

  /** Reads a text/event-stream body; calls onEvent(name, data) per event; resolves when the body ends. */
  function readEvents(body, onEvent) {
    var reader = body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split(/\r\n|\r|\n/).forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (data.length) onEvent(name, data.join("\n"));
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split(/\r\n\r\n|\n\n|\r\r/);
        buffer = parts.pop();
        parts.forEach(dispatch);
        return pump();
      });
    }
    return pump();
  }

  function isAbort(err) {
    return err && (err.name === "AbortError" || (state.controller && state.controller.signal.aborted));
  }

  function ask(question, options) {
    var q = String(question == null ? "" : question).trim();
    state.follow = true;
    if (!q) { showInputError(T.empty); input.focus(); return Promise.resolve(null); }
    if (q.length > MAX_QUESTION) { showInputError(T.tooLong); input.focus(); return Promise.resolve(null); }
    showInputError("");
    if (state.busy) stop();

    var history = historyFor(state.messages);
    state.messages.push({ role: "user", content: q });
    renderAt(state.messages.length - 1);
    var m = { role: "assistant", content: "", status: "streaming", answer: null, request: null };
    state.messages.push(m);
    var index = state.messages.length - 1;
    renderAt(index);

    var controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    var payload = { question: q, history: history };
    if (options && options.filters) payload.filters = options.filters;
    m.request = payload; // "显示更多" asks the same question again for the next page of units

    var finished = false;
    function fail(message, retryable) {
      m.status = "error";
      m.error = message;
      m.retry = retryable ? q : null;
    }

    return ensureSession()
      .then(function () {
        return fetch(API + "/v1/ask/stream", {
          method: "POST",
          headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
          body: JSON.stringify(payload),
          signal: controller.signal,
          credentials: "omit",
        });
      })
      .then(function (res) {
        if (!res.ok) {
          return readDetail(res).then(function (detail) { fail(describeFailure(res, detail), [400, 401, 403, 422].indexOf(res.status) < 0); });
        }
        if (!/text\/event-stream/.test(res.headers.get("Content-Type") || "") || !res.body) {
          fail(T.badResponse, true);
          return;
        }
        return readEvents(res.body, function (name, raw) {
          var data;
          try { data = JSON.parse(raw); } catch (e) { return; }
          if (name === "citations") {
            m.answer = data;
          } else if (name === "delta") {
            m.content += data.text || "";
          } else if (name === "done") {
            m.answer = data;
            m.content = data.answer || m.content;
            finished = true;
          } else if (name === "error") {
            fail((data && data.detail) || T.server, true);
            finished = true;
          }
          renderAt(index);
        }).then(function () {
          if (!finished) fail(T.interrupted, true);
          else if (m.status === "streaming") m.status = "done";
        });
      })
      .catch(function (err) {
        if (isAbort(err) || controller.signal.aborted) m.status = "stopped";
        else if (!finished) fail(err && err.name === "TypeError" ? T.network : T.interrupted, true);
      })
      .then(function () {
        if (m.status === "streaming") m.status = controller.signal.aborted ? "stopped" : "done";
        if (state.controller === controller) {
          state.controller = null;
          setBusy(false);
        }
        if (state.messages[index] === m) renderAt(index);
        save();
        return m.status === "done" ? m.answer : null;
      });
  }

  function stop() {
    if (state.controller) state.controller.abort();
  }

  function retry(index) {
    var m = state.messages[index];
    var q = m && m.retry;
    if (!q || state.busy) return;
    state.messages.splice(index - 1, 2); // the failed question and its error
    renderAll();
    save();
    ask(q);
  }

  function clear() {
    stop();
    state.messages = [];
    save();
    session = null; // a fresh start leaves nothing of this visitor in storage; the next question starts a new session
    try { window.sessionStorage.removeItem(SESSION_KEY); } catch (e) { /* nothing stored */ }
    closeViewer(false);
    renderAll();
    showInputError("");
  }

  // ---- source viewer ----------------------------------------------------------------------------
  function getDocument(docId) {
    if (!docCache.has(docId)) {
      var p = fetch(API + "/v1/documents/" + encodeURIComponent(docId), { headers: headers(), credentials: "omit" }).then(function (res) {
        if (!res.ok) {
          return readDetail(res).then(function (detail) {
            var err = new Error(res.status === 404 ? T.docMissing : describeFailure(res, detail));
            throw err;
          });
        }
        return res.json();
      });
      p.catch(function () { docCache.delete(docId); });
      docCache.set(docId, p);
    }
    return docCache.get(docId);
  }

  function openViewer(c, trigger) {
    var token = ++state.viewerToken;
    state.viewerTrigger = trigger || null;
    viewerTitle.textContent = c.title || c.source || T.viewer;
    viewerMeta.textContent = [c.unit, c.year ? T.year(c.year) : "", c.section, c.source].filter(Boolean).join(" · ");
    docBox.textContent = T.loadingDoc;
    docBox.classList.remove("jx-doc-error");
    docBox.setAttribute("aria-busy", "true");
    chat.hidden = true;
    viewer.hidden = false;
    backBtn.focus();
    getDocument(c.doc_id).then(
      function (doc) {
        if (token !== state.viewerToken) return;
        docBox.removeAttribute("aria-busy");
        JxSource.render(docBox, doc.text || "", c, { markClass: "jx-mark", markLabel: T.citedPassage });
      },
      function (err) {
        if (token !== state.viewerToken) return;
        docBox.removeAttribute("aria-busy");
        docBox.classList.add("jx-doc-error");
        docBox.textContent = err && err.message && err.name !== "TypeError" ? err.message : T.docError + T.network;
        docBox.setAttribute("role", "alert");
      }
    );
  }

  function closeViewer(refocus) {
    if (viewer.hidden) return;
    state.viewerToken++;
    viewer.hidden = true;
    chat.hidden = false;
    docBox.setAttribute("role", "document");
    var trigger = state.viewerTrigger;
    state.viewerTrigger = null;
    if (refocus) (trigger && trigger.isConnected ? trigger : input).focus();
  }

  // ---- open / close -----------------------------------------------------------------------------
  function isOpen() {
    return !panel.hidden;
  }

  function open(focusInput) {
    if (!isOpen()) {
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      scrollDown();
    }
    if (focusInput !== false) input.focus();
  }

  function close() {
    if (!isOpen()) return;
    closeViewer(false);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (isOpen()) close();
    else open();
  });
  closeBtn.addEventListener("click", close);
  clearBtn.addEventListener("click", function () {
    clear();
    input.focus();
  });
  backBtn.addEventListener("click", function () { closeViewer(true); });
  stopBtn.addEventListener("click", function () {
    stop();
    if (inputError.textContent === T.busy) showInputError("");
    input.focus();
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (state.busy) { showInputError(T.busy); return; }
    var q = input.value;
    if (!q.trim()) { showInputError(T.empty); input.focus(); return; }
    if (q.trim().length > MAX_QUESTION) { showInputError(T.tooLong); return; }
    input.value = "";
    ask(q);
  });

  input.addEventListener("keydown", function (ev) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition (Chinese input) does nothing.
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  // The reader scrolls the conversation: stop following the streaming answer.
  ["wheel", "touchmove", "keydown"].forEach(function (type) {
    log.addEventListener(type, function () { state.follow = false; }, { passive: true });
  });

  input.addEventListener("input", function () {
    if (inputError.textContent) showInputError("");
  });

  root.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape" || !isOpen()) return;
    ev.stopPropagation();
    if (!viewer.hidden) closeViewer(true);
    else close();
  });

  // ---- start ------------------------------------------------------------------------------------
  load();
  renderAll();
  (document.documentElement || document.body).appendChild(host);

  var api = {
    version: VERSION,
    open: function () { open(); },
    close: close,
    toggle: function () { if (isOpen()) close(); else open(); },
    isOpen: isOpen,
    ask: function (question, options) {
      open();
      closeViewer(false);
      return ask(question, options);
    },
    stop: stop,
    clear: clear,
  };
  Object.defineProperty(window, "JixiaoQA", { value: Object.freeze(api), configurable: false, enumerable: false, writable: false });
  document.dispatchEvent(new CustomEvent("jixiaoqa:ready"));
})();
