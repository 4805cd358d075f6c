/*
 * 报告库管理台 (/admin) — plain JavaScript, no build step, no external resources.
 *
 * Everything goes through the public API (documented at /docs), with the admin key from this tab's
 * sessionStorage as a bearer token:
 *   GET  /readyz                                   readiness strip
 *   GET  /v1/whoami                                is the key an admin key?
 *   GET  /v1/documents?offset&limit&sort&order&…   the table (filtered, sorted, paged on the server)
 *   POST /v1/jobs/ingest, GET /v1/jobs[/{id}]      uploads: a background job per batch, per-file results
 *   GET  /v1/documents/{id}[/sections|/chunks]     the document page
 *   GET  /v1/findings?doc_id=…                     its findings
 *   PATCH / DELETE /v1/documents/{id}              edit metadata, delete
 * The source viewer's core (find and mark a cited span) is the widget's: source-view.js (JxSource).
 */
(function () {
  "use strict";

  var KEY_STORE = "jixiaoqa:admin-key";
  var JOBS_STORE = "jixiaoqa:admin-jobs";
  var BATCH_FILES = 20; // files per upload request (one job each)
  var BATCH_BYTES = 80 * 1024 * 1024;
  var KINDS = ["部门整体支出", "项目支出", "部门决算", "其他"]; // ingest.metadata.REPORT_KINDS
  var ROLE_NAMES = { problems: "问题", measures: "措施", performance: "绩效", funds: "资金", overview: "概况", other: "其他" };
  var STATES = {
    waiting: ["等待上传", "same"],
    uploading: ["上传中", ""],
    queued: ["已上传，排队导入", ""],
    running: ["正在导入…", ""],
    new: ["新增", "ok"],
    unchanged: ["未变化（已收录，跳过）", "same"],
    replaced: ["已替换旧版本", "ok"],
    duplicate: ["重复，未收录", "warn"],
    refused: ["拒收", "bad"],
    failed: ["上传失败", "bad"],
    interrupted: ["中断（服务已重启，请重新上传）", "bad"],
  };

  function $(id) { return document.getElementById(id); }

  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null || c === false) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function when(seconds) {
    if (!seconds) return "—";
    var d = new Date(seconds * 1000);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }

  document.querySelectorAll("select[data-kinds]").forEach(function (select) {
    KINDS.forEach(function (k) { select.appendChild(h("option", { text: k })); });
  });

  // ---- the key and the API --------------------------------------------------------------------------
  var state = { key: "", role: null, keysRequired: true };

  function storedKey() {
    try { return window.sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  function keep(key) {
    try {
      if (key) window.sessionStorage.setItem(KEY_STORE, key);
      else window.sessionStorage.removeItem(KEY_STORE);
    } catch (e) { /* this tab only, best effort */ }
  }

  function authHeaders(extra) {
    var out = { Accept: "application/json" };
    if (state.key) out.Authorization = "Bearer " + state.key;
    Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }

  function ApiError(status, detail) {
    this.status = status;
    this.message = detail;
  }

  function failure(status, body) {
    var detail = body && typeof body.detail === "string" ? body.detail : "";
    if (status === 429) detail = "请求过于频繁，请稍后再试";
    else if (status >= 500) detail = "服务暂时不可用（HTTP " + status + "）" + (detail ? "：" + detail : "");
    return new ApiError(status, detail || "请求失败（HTTP " + status + "）");
  }

  /** fetch JSON from the API; rejects with ApiError(status, Chinese detail). 401 returns to the key prompt. */
  function api(path, options) {
    var opts = options || {};
    var init = { method: opts.method || "GET", headers: authHeaders(opts.json !== undefined ? { "Content-Type": "application/json" } : {}) };
    if (opts.json !== undefined) init.body = JSON.stringify(opts.json);
    return fetch(path, init).then(
      function (res) {
        return res.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
          if (!res.ok) {
            var err = failure(res.status, body);
            if (res.status === 401 && !opts.quiet) signOut(err.message);
            throw err;
          }
          return body;
        });
      },
      function () { throw new ApiError(0, "无法连接服务，请检查网络或稍后再试"); }
    );
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== "" && v != null) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // ---- sign in ------------------------------------------------------------------------------------
  function showOnly(id) {
    ["login", "library", "document"].forEach(function (name) { $(name).hidden = name !== id; });
  }

  function signOut(message) {
    state.key = "";
    state.role = null;
    keep("");
    $("who").hidden = true;
    showOnly("login");
    $("login-error").textContent = message || "";
    $("key").focus();
  }

  function checkKey(key) {
    state.key = key;
    return api("/v1/whoami", { quiet: true }).then(function (me) {
      state.keysRequired = me.keys_required;
      if (me.role !== "admin") {
        state.key = "";
        throw new ApiError(403, "该密钥不是管理员密钥（角色：" + ({ reader: "只读", widget: "网页挂件" }[me.role] || me.role) + "），不能管理报告库");
      }
      state.role = "admin";
      keep(key);
      $("who").hidden = false;
      $("who-text").textContent = me.keys_required ? "管理员" : "未配置密钥（仅本机）";
      $("logout").hidden = !me.keys_required;
    });
  }

  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var key = $("key").value.trim();
    if (!key) { $("login-error").textContent = "请输入密钥"; return; }
    $("login-error").textContent = "";
    checkKey(key).then(
      function () { $("key").value = ""; route(); },
      function (err) {
        state.key = "";
        $("login-error").textContent = err.status === 401 ? "密钥无效" : err.message;
      }
    );
  });

  $("logout").addEventListener("click", function () { signOut(""); });

  // ---- readiness strip ------------------------------------------------------------------------------
  function ready() {
    fetch("/readyz", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (b) { return [r.ok, b]; }); })
      .then(function (pair) {
        var ok = pair[0], r = pair[1];
        var list = $("ready");
        list.textContent = "";
        if (!ok) {
          list.appendChild(h("li", { class: "bad", text: "未就绪：" + (r.detail || r.status) }));
          return;
        }
        var model = String(r.model || "").split("/").pop();
        [["报告", r.documents], ["段落", r.chunks], ["句子已就绪", r.sentences_prepared + " / " + r.chunks], ["模型", model],
         ["存储", r.store === "server" ? "Chroma 服务器" : "内嵌"]].forEach(function (item) {
          list.appendChild(h("li", null, item[0] + " ", h("b", { text: String(item[1]) })));
        });
      })
      .catch(function () {
        $("ready").textContent = "";
        $("ready").appendChild(h("li", { class: "bad", text: "无法连接服务" }));
      });
  }

  // ---- the library table ------------------------------------------------------------------------------
  var table = { offset: 0, limit: 50, sort: "ingested_at", order: "desc", total: 0, token: 0 };

  function filterValues() {
    var form = $("filters");
    var out = {};
    ["q", "unit", "region", "year", "kind", "missing"].forEach(function (name) { out[name] = form.elements[name].value.trim(); });
    return out;
  }

  function loadTable() {
    var token = ++table.token;
    var params = filterValues();
    params.offset = table.offset;
    params.limit = table.limit;
    params.sort = table.sort;
    params.order = table.order;
    $("docs").setAttribute("aria-busy", "true");
    return api("/v1/documents" + query(params)).then(
      function (page) {
        if (token !== table.token) return;
        table.total = page.total;
        drawTable(page);
      },
      function (err) {
        if (token !== table.token) return;
        var body = $("docs-body");
        body.textContent = "";
        body.appendChild(h("tr", { class: "empty" }, h("td", { colspan: "9", text: "无法加载：" + err.message })));
      }
    ).then(function () { $("docs").removeAttribute("aria-busy"); });
  }

  function cell(value, cls) {
    var empty = value == null || value === "";
    return h("td", { class: (cls || "") + (empty ? " empty-cell" : ""), text: empty ? "—" : String(value) });
  }

  function drawTable(page) {
    var body = $("docs-body");
    body.textContent = "";
    document.querySelectorAll("#docs th[data-sort]").forEach(function (th) {
      var key = th.getAttribute("data-sort");
      if (key === table.sort) th.setAttribute("aria-sort", table.order === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    if (!page.items.length) {
      body.appendChild(h("tr", { class: "empty" }, h("td", { colspan: "9", text: page.total ? "本页没有报告" : "没有符合条件的报告" })));
    }
    page.items.forEach(function (d) {
      var name = d.unit || d.title || d.source;
      body.appendChild(
        h("tr", { "data-doc": d.doc_id },
          h("td", null, h("a", { href: "#/doc/" + encodeURIComponent(d.doc_id), text: name, title: d.title })),
          cell(d.region, "c-region"),
          cell(d.year, "c-year"),
          cell(d.report_kind, "c-kind"),
          cell(d.source, "c-source"),
          cell(d.n_chunks, "c-num"),
          cell(d.n_findings, "c-num"),
          cell(when(d.ingested_at), "c-time"),
          h("td", { class: "c-act" },
            h("button", { type: "button", class: "link", text: "删除", "aria-label": "删除 " + name, onclick: function () { confirmDelete(d); } }))
        )
      );
    });
    var pages = Math.max(1, Math.ceil(page.total / table.limit));
    var current = Math.floor(table.offset / table.limit) + 1;
    $("lib-count").textContent = "共 " + page.total + " 篇";
    $("page-info").textContent = "第 " + current + " / " + pages + " 页";
    $("prev").disabled = table.offset <= 0;
    $("next").disabled = table.offset + table.limit >= page.total;
  }

  var filterTimer = 0;
  $("filters").addEventListener("input", function () {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(function () { table.offset = 0; loadTable(); }, 250);
  });
  $("filters").addEventListener("submit", function (ev) { ev.preventDefault(); table.offset = 0; loadTable(); });
  $("filters").addEventListener("reset", function () { setTimeout(function () { table.offset = 0; loadTable(); }, 0); });
  document.querySelectorAll("#docs th[data-sort]").forEach(function (th) {
    th.tabIndex = 0;
    function sortBy() {
      var key = th.getAttribute("data-sort");
      if (table.sort === key) table.order = table.order === "asc" ? "desc" : "asc";
      else { table.sort = key; table.order = key === "ingested_at" || key === "year" || key.slice(0, 2) === "n_" ? "desc" : "asc"; }
      table.offset = 0;
      loadTable();
    }
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(); } });
  });
  $("prev").addEventListener("click", function () { table.offset = Math.max(0, table.offset - table.limit); loadTable(); });
  $("next").addEventListener("click", function () { table.offset += table.limit; loadTable(); });
  $("page-size").addEventListener("change", function () { table.limit = Number($("page-size").value); table.offset = 0; loadTable(); });

  // ---- uploads: one background job per batch --------------------------------------------------------------
  var uploads = []; // {file, row, status, progress, reason, doc_id}
  var refreshTimer = 0;

  /** Reload the table and the strip after an upload changed the library, and once more a little later: behind a
   * load balancer the reload may reach a replica that notices the change only on its next check (~2 s). */
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      loadTable();
      ready();
      refreshTimer = setTimeout(function () { loadTable(); ready(); }, 2500);
    }, 400);
  }

  function drawUpload(u) {
    var info = STATES[u.status] || [u.status, ""];
    var text = info[0];
    if (u.status === "uploading") text += " " + Math.round(u.progress * 100) + "%";
    if (u.reason) text += "：" + u.reason;
    var percent = u.status === "waiting" ? 0 : u.status === "uploading" ? u.progress * 100 : 100;
    u.bar.style.width = percent + "%";
    u.state.className = "state " + info[1];
    u.state.textContent = "";
    u.state.appendChild(document.createTextNode(text));
    if (u.doc_id && u.status !== "refused") {
      u.state.appendChild(document.createTextNode(" · "));
      u.state.appendChild(h("a", { href: "#/doc/" + encodeURIComponent(u.doc_id), text: u.unit || "查看" }));
    }
    u.row.setAttribute("data-status", u.status);
  }

  function addFiles(list) {
    var added = [];
    var rows = document.createDocumentFragment(); // the batch goes on top, in the order chosen
    Array.prototype.forEach.call(list, function (file) {
      var bar = h("span");
      var st = h("span", { class: "state" });
      var row = h("li", { "data-name": file.name },
        h("span", { class: "name", title: file.name }, file.name, h("span", { class: "size", text: bytes(file.size) })),
        h("span", { class: "bar", role: "presentation" }, bar),
        st);
      rows.appendChild(row);
      var u = { file: file, row: row, bar: bar, state: st, status: "waiting", progress: 0, reason: "" };
      drawUpload(u);
      uploads.push(u);
      added.push(u);
    });
    $("uploads").insertBefore(rows, $("uploads").firstChild);
    var batches = [];
    var current = [];
    var size = 0;
    added.forEach(function (u) {
      if (current.length && (current.length >= BATCH_FILES || size + u.file.size > BATCH_BYTES)) {
        batches.push(current);
        current = [];
        size = 0;
      }
      current.push(u);
      size += u.file.size;
    });
    if (current.length) batches.push(current);
    batches.forEach(function (b) { uploadQueue = uploadQueue.then(function () { return uploadBatch(b); }); });
  }

  var uploadQueue = Promise.resolve();

  /** One multipart request (progress per file from the bytes sent), then the job is polled until done. */
  function uploadBatch(batch) {
    return new Promise(function (resolve) {
      var form = new FormData();
      batch.forEach(function (u) { form.append("files", u.file, u.file.name); u.status = "uploading"; drawUpload(u); });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/jobs/ingest");
      var headers = authHeaders();
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      xhr.upload.onprogress = function (ev) {
        if (!ev.lengthComputable) return;
        var total = batch.reduce(function (s, u) { return s + u.file.size; }, 0) || 1;
        var sent = ev.loaded * total / ev.total; // multipart overhead spread evenly
        var before = 0;
        batch.forEach(function (u) {
          u.progress = Math.max(0, Math.min(1, (sent - before) / (u.file.size || 1)));
          before += u.file.size;
          drawUpload(u);
        });
      };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        if (xhr.status !== 202 || !body || !body.job_id) {
          var err = failure(xhr.status, body);
          batch.forEach(function (u) { u.status = "failed"; u.reason = err.message; drawUpload(u); });
          if (xhr.status === 401) signOut(err.message);
          resolve();
          return;
        }
        rememberJob(body.job_id);
        followJob(body, batch).then(resolve);
      };
      xhr.onerror = function () {
        batch.forEach(function (u) { u.status = "failed"; u.reason = "无法连接服务"; drawUpload(u); });
        resolve();
      };
      xhr.send(form);
    });
  }

  function applyJob(job, batch) {
    var changed = false;
    job.files.forEach(function (f, i) {
      var u = batch[i];
      if (!u) return;
      var status = job.status === "interrupted" && (f.status === "queued" || f.status === "running") ? "interrupted" : f.status;
      if (u.status !== status) changed = changed || ["new", "replaced"].indexOf(status) >= 0;
      u.status = status;
      // A duplicate stores nothing; the library names the stored file with the same content.
      var original = f.extra && f.extra.duplicate_of;
      var ocrPages = f.extra && f.extra.ocr_pages;
      u.reason = f.reason || (original ? "内容与已收录的 " + original + " 相同" : "")
        // A scan: pages read by OCR so far (each takes seconds), then how many it read.
        || (status === "running" && f.ocr_total ? "OCR 第 " + f.ocr_done + "/" + f.ocr_total + " 页" : "")
        || (ocrPages ? "OCR 识别 " + ocrPages + " 页" : "");
      u.doc_id = f.doc_id;
      u.unit = f.unit;
      drawUpload(u);
    });
    if (changed) refreshSoon();
  }

  /** Poll a job until it is finished; `batch`: the upload rows of its files (or rows made for a job found later). */
  function followJob(job, batch) {
    applyJob(job, batch);
    if (job.status === "done" || job.status === "interrupted") {
      forgetJob(job.job_id);
      loadJobs();
      return Promise.resolve();
    }
    return new Promise(function (resolve) { setTimeout(resolve, 1200); })
      .then(function () { return api("/v1/jobs/" + encodeURIComponent(job.job_id)); })
      .then(function (next) { return followJob(next, batch); }, function (err) {
        if (err.status === 404) { forgetJob(job.job_id); return null; }
        return new Promise(function (resolve) { setTimeout(resolve, 3000); }).then(function () { return followJob(job, batch); });
      });
  }

  function jobIds() {
    try { return JSON.parse(window.sessionStorage.getItem(JOBS_STORE) || "[]"); } catch (e) { return []; }
  }
  function rememberJob(id) {
    try { window.sessionStorage.setItem(JOBS_STORE, JSON.stringify(jobIds().concat([id]))); } catch (e) { /* best effort */ }
  }
  function forgetJob(id) {
    try { window.sessionStorage.setItem(JOBS_STORE, JSON.stringify(jobIds().filter(function (j) { return j !== id; }))); } catch (e) { /* */ }
  }

  /** After a reload: keep following this tab's unfinished jobs (the server never stopped them). */
  function resumeJobs() {
    jobIds().forEach(function (id) {
      api("/v1/jobs/" + encodeURIComponent(id)).then(function (job) {
        var rows = job.files.map(function (f) {
          var bar = h("span");
          var st = h("span", { class: "state" });
          var row = h("li", { "data-name": f.name }, h("span", { class: "name", title: f.name }, f.name, h("span", { class: "size", text: bytes(f.size) })),
            h("span", { class: "bar", role: "presentation" }, bar), st);
          $("uploads").appendChild(row);
          return { file: { name: f.name, size: f.size }, row: row, bar: bar, state: st, status: f.status, progress: 1, reason: "" };
        });
        followJob(job, rows);
      }, function () { forgetJob(id); });
    });
  }

  function loadJobs() {
    api("/v1/jobs").then(function (list) {
      var ul = $("job-list");
      ul.textContent = "";
      list.items.slice(0, 8).forEach(function (job) {
        var counts = Object.keys(job.counts).map(function (k) { return ((STATES[k] || [k])[0]).replace(/（.*$/, "") + " " + job.counts[k]; }).join("，");
        var what = { queued: "排队中", running: "进行中", done: "已完成", interrupted: "已中断" }[job.status] || job.status;
        ul.appendChild(h("li", { text: when(job.created_at) + " · " + job.total + " 个文件 · " + what + "（" + counts + "）" }));
      });
      $("jobs").hidden = !list.items.length;
    }, function () { $("jobs").hidden = true; });
  }

  var drop = $("drop");
  drop.addEventListener("click", function () { $("picker").click(); });
  drop.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); $("picker").click(); } });
  $("picker").addEventListener("change", function () { addFiles($("picker").files); $("picker").value = ""; });
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault();
    if (ev.dataTransfer && ev.dataTransfer.files.length) addFiles(ev.dataTransfer.files);
  });

  // ---- delete -----------------------------------------------------------------------------------------
  function confirmDelete(d) {
    var dialog = $("confirm");
    $("confirm-text").textContent = "确定删除“" + (d.title || d.source) + "”（" + d.source + "）吗？将同时删除它的全部段落和问题与措施，无法撤销。";
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue !== "ok") return;
      api("/v1/documents/" + encodeURIComponent(d.doc_id), { method: "DELETE" }).then(
        function () {
          if (location.hash.indexOf("#/doc/") === 0) location.hash = "#/"; // back to the library, which reloads
          else loadTable();
          $("lib-status").classList.remove("bad");
          $("lib-status").textContent = "已删除：" + (d.title || d.source) + "（" + d.source + "）";
          ready();
        },
        function (err) { flash("删除失败：" + err.message, true); }
      );
    };
    dialog.showModal();
    $("confirm-ok").focus();
  }

  /** A result line: on the document page while it is shown, else above the library table. */
  function flash(text, bad) {
    var target = !$("document").hidden ? $("doc-status") : $("lib-status");
    target.classList.toggle("bad", !!bad);
    target.textContent = text;
  }

  // ---- the document page -----------------------------------------------------------------------------
  var doc = { id: "", record: null, text: "", token: 0 };

  function metaRows(d) {
    var dl = $("doc-meta");
    dl.textContent = "";
    [["单位", d.unit], ["地区", d.region], ["年度", d.year], ["类型", d.report_kind], ["文件", d.source],
     ["段落", d.n_chunks], ["问题与措施", d.n_findings], ["导入时间", when(d.ingested_at)], ["doc_id", d.doc_id]].forEach(function (r) {
      dl.appendChild(h("dt", { text: r[0] }));
      dl.appendChild(h("dd", { text: r[1] == null || r[1] === "" ? "—" : String(r[1]) }));
    });
  }

  function activate(el) {
    document.querySelectorAll("#document .active").forEach(function (x) { x.classList.remove("active"); });
    if (el) el.classList.add("active");
  }

  function show(span, where, el) {
    activate(el);
    var mark = JxSource.render($("source"), doc.text, span, { markClass: "cited", markLabel: "被引用的段落" });
    $("text-where").textContent = mark ? where + " · 字符 " + span.char_start + "–" + span.char_end : "";
    if (mark && window.matchMedia("(max-width: 900px)").matches) $("source").scrollIntoView({ block: "start" });
  }

  function drawSections(list) {
    var ol = $("sections");
    ol.textContent = "";
    if (!list.length) ol.appendChild(h("li", { class: "muted", text: "未识别出带编号的标题" }));
    list.forEach(function (s) {
      var li = h("li", null,
        h("button", { type: "button", text: s.title, onclick: function (ev) {
          show({ char_start: s.char_start, char_end: Math.min(s.char_end, s.char_start + s.title.length), text: "" }, s.title, ev.currentTarget.parentNode);
        } }),
        h("span", { class: "role", text: ROLE_NAMES[s.role] || s.role }),
        s.chunks ? h("span", { class: "n", text: "· " + s.chunks + " 段" }) : null);
      li.style.paddingLeft = s.depth * 1.2 + "em"; // CSSOM, not a style attribute: the page's CSP allows only this
      ol.appendChild(li);
    });
  }

  function drawFindings(items) {
    var ol = $("findings");
    ol.textContent = "";
    if (!items.length) ol.appendChild(h("li", { class: "muted", text: "没有抽出问题或措施" }));
    items.forEach(function (f) {
      var cats = h("div", { class: "cats" });
      f.categories.forEach(function (c) { cats.appendChild(h("span", { class: "cat", title: "置信度 " + c.confidence.toFixed(2), text: c.name })); });
      ol.appendChild(h("li", { "data-finding": f.finding_id },
        h("span", { class: "fx-role " + f.role, text: f.role === "problem" ? "问题" : "措施" }),
        h("button", { type: "button", class: "fx-text", text: f.text, onclick: function (ev) { show(f, f.section || "正文", ev.currentTarget.parentNode); } }),
        f.categories.length ? cats : null,
        h("div", { class: "where", text: (f.section || "正文") + " · 字符 " + f.char_start + "–" + f.char_end })));
    });
  }

  function drawChunks(page) {
    var body = $("chunks");
    body.textContent = "";
    page.items.forEach(function (c) {
      body.appendChild(h("tr", null,
        h("td", { text: String(c.chunk_index + 1) }),
        h("td", { text: (c.section || "正文").split(" > ").pop(), title: c.section }),
        h("td", { text: c.char_start + "–" + c.char_end }),
        h("td", null, h("button", { type: "button", class: "excerpt", text: c.text, onclick: function (ev) { show(c, c.section || "正文", ev.currentTarget.closest("tr")); } }))));
    });
    if (page.total > page.items.length) body.appendChild(h("tr", null, h("td", { colspan: "4", class: "muted", text: "另有 " + (page.total - page.items.length) + " 段未列出" })));
  }

  function allFindings(id) {
    var items = [];
    function next(offset) {
      return api("/v1/findings" + query({ doc_id: id, limit: 200, offset: offset })).then(function (page) {
        items = items.concat(page.items);
        return items.length < page.total && page.items.length ? next(offset + page.items.length) : items;
      });
    }
    return next(0);
  }

  function openDocument(id) {
    var token = ++doc.token;
    showOnly("document");
    doc.id = id;
    $("edit-form").hidden = true;
    $("doc-status").textContent = "";
    $("doc-title").textContent = "正在加载…";
    ["doc-meta", "sections", "findings", "chunks", "source"].forEach(function (x) { $(x).textContent = ""; });
    $("text-where").textContent = "";
    api("/v1/documents/" + encodeURIComponent(id)).then(function (d) {
      if (token !== doc.token) return;
      doc.record = d;
      doc.text = d.text || "";
      $("doc-title").textContent = d.title || d.source;
      document.title = (d.unit || d.title || d.source) + " · 报告库管理";
      metaRows(d);
      JxSource.render($("source"), doc.text, null);
      api("/v1/documents/" + encodeURIComponent(id) + "/sections").then(function (s) { if (token === doc.token) drawSections(s.sections); });
      api("/v1/documents/" + encodeURIComponent(id) + "/chunks").then(function (c) { if (token === doc.token) drawChunks(c); });
      allFindings(id).then(function (items) { if (token === doc.token) drawFindings(items); }, function (err) {
        $("findings").textContent = "";
        $("findings").appendChild(h("li", { class: "muted", text: "无法加载问题与措施：" + err.message }));
      });
    }, function (err) {
      if (token !== doc.token) return;
      $("doc-title").textContent = err.status === 404 ? "报告不存在（可能已被删除）" : "无法加载：" + err.message;
    });
  }

  $("delete-open").addEventListener("click", function () { if (doc.record) confirmDelete(doc.record); });

  // Metadata edit: only the changed fields are sent (PATCH /v1/documents/{id}).
  $("edit-open").addEventListener("click", function () {
    var d = doc.record;
    if (!d) return;
    var form = $("edit-form");
    ["unit", "region", "title"].forEach(function (k) { form.elements[k].value = d[k] || ""; });
    form.elements.year.value = d.year == null ? "" : d.year;
    form.elements.report_kind.value = d.report_kind;
    $("edit-error").textContent = "";
    form.hidden = false;
    form.elements.unit.focus();
  });
  $("edit-cancel").addEventListener("click", function () { $("edit-form").hidden = true; });
  $("edit-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = $("edit-form");
    var d = doc.record;
    var changes = {};
    ["unit", "region", "title", "report_kind"].forEach(function (k) {
      var v = form.elements[k].value.trim();
      if (v !== (d[k] || "")) changes[k] = v;
    });
    var year = form.elements.year.value.trim();
    if (year !== (d.year == null ? "" : String(d.year))) {
      if (!/^\d{4}$/.test(year)) { $("edit-error").textContent = "年度应为四位数字，如 2021"; return; }
      changes.year = Number(year);
    }
    if (!Object.keys(changes).length) { form.hidden = true; return; }
    $("edit-error").textContent = "";
    api("/v1/documents/" + encodeURIComponent(doc.id), { method: "PATCH", json: changes }).then(
      function (updated) {
        doc.record = Object.assign({}, doc.record, updated);
        metaRows(doc.record);
        $("doc-title").textContent = doc.record.title || doc.record.source;
        form.hidden = true;
        flash("已保存：问答和筛选即刻按新的元数据进行。");
      },
      function (err) { $("edit-error").textContent = err.message; }
    );
  });

  // ---- routing ------------------------------------------------------------------------------------------
  function route() {
    if (state.role !== "admin") return;
    var m = /^#\/doc\/([^/?]+)/.exec(location.hash);
    if (m) {
      openDocument(decodeURIComponent(m[1]));
      return;
    }
    document.title = "报告库管理 · 绩效报告问答";
    showOnly("library");
    loadTable();
    loadJobs();
  }
  window.addEventListener("hashchange", route);

  // ---- start ----------------------------------------------------------------------------------------------
  ready();
  setInterval(ready, 15000);
  var saved = storedKey();
  checkKey(saved).then(
    function () { route(); resumeJobs(); },
    function (err) {
      // No key needed (keyless local service) is handled by checkKey succeeding without one.
      signOut(saved && err.status !== 0 ? (err.status === 401 ? "密钥无效，请重新输入" : err.message) : err.status === 0 ? err.message : "");
    }
  );
})();
