/*
 * <concord-chat>: ask the documents, see the sources.
 *
 * One script tag adds it to any page:
 *   <script src="https://concord.example/-/static/widget.js"></script>
 *   <concord-chat api-key="pk_..."></concord-chat>
 *
 * Attributes: api (the service's base URL; default: where this script came from),
 * api-key (a widget or query key), lang (zh or en; default: the browser's), top-k,
 * documents (comma-separated document ids: answer only from these, e.g. on a page about one
 * document; without it the reader may narrow a conversation to one document from its passages).
 * Theming: CSS variables --concord-accent, --concord-bg, --concord-fg, --concord-muted,
 * --concord-border, --concord-warn, --concord-ok, --concord-font, --concord-radius.
 *
 * Every answer shows its passages, and every passage its support across variants:
 * sources are shown by default, never hidden behind a click.
 */
(() => {
  "use strict";

  const SCRIPT_URL = document.currentScript ? document.currentScript.src : location.href;
  const STATIC_BASE = new URL(".", SCRIPT_URL).href;
  const DEFAULT_API = STATIC_BASE.replace(/-\/static\/$/, "");
  const MAX_TURNS = 30;

  const TEXT = {
    en: {
      title: "Ask the documents",
      switchTo: "中文",
      switchLabel: "Switch the interface to Chinese",
      clear: "Clear",
      clearLabel: "Clear the conversation",
      placeholder: "Ask a question in English or Chinese…",
      inputLabel: "Your question",
      send: "Send",
      hint: "Enter sends, Shift+Enter adds a line.",
      empty: "Ask about the documents, e.g. “How many 楚怡 technical schools will be built?”. Every answer shows its source passages and how many transcriptions carry them.",
      searching: "Searching the documents…",
      noResults: "No passage answers this question.",
      unanswered: "The documents do not seem to answer this. The closest passages are below; check them before relying on them.",
      answer: "Answer",
      agree: (n, t) => `${n} of ${t} variants agree`,
      partial: (n, t) => `${n} of ${t} variants carry it`,
      otherwise: (v, s) => `${v} says ${s}`,
      sources: "Sources",
      support: (n, t) => `${n}/${t} variants`,
      single: "only 1 variant carries this clause: treat with care",
      low: (n, t) => `only ${n} of ${t} variants carry this clause`,
      loop: (n) => `×${n} copies collapsed`,
      divergent: "variants differ in wording",
      minor: "differences in punctuation only",
      showReadings: (n) => (n === 1 ? "Show the only reading" : `Compare the ${n} readings`),
      canonical: "Canonical reading",
      line: (a, b) => (a === b ? `line ${a}` : `lines ${a}–${b}`),
      open: "Open in file",
      hide: "Hide file text",
      copy: "Copy citation",
      copied: "Citation copied",
      copyFailed: "Could not copy; select the text instead",
      differences: "Where the variants differ",
      missing: (s) => `missing here: ${s}`,
      minorTag: "punctuation only",
      errors: {
        network: "Cannot reach the service (or this site may not call it). Check that it is running, then try again.",
        401: "This service needs an access key.",
        403: "This key may not be used here.",
        429: (s) => `Too many questions at once. Try again in ${s} s.`,
        503: "The service is still loading its index. Try again in a moment.",
        500: "The service failed while answering. Try again; if it keeps failing, give the request id to an administrator.",
        emptyQuestion: "Please type a question first.",
        other: "The service refused the question:",
        scopeGone: (d) => `${d} is no longer in the collection (it may have been removed).`,
        scopeGoneFixed: (d) => `${d} is no longer in the collection; this page asks only of it.`,
      },
      keyLabel: "Access key",
      keySave: "Use key",
      retry: "Try again",
      requestId: "request id",
      fileText: (f, a, b) => `${f}, ${a === b ? `line ${a}` : `lines ${a}–${b}`}`,
      pages: (a, b) => (a === b ? `p. ${a}` : `pp. ${a}–${b}`),
      hidePage: "Hide the page",
      ocrTag: (c) => (c === null || c === undefined ? "OCR" : `OCR ${percent(c)}`),
      lowOcrTag: (c) => `low-confidence OCR${c === null || c === undefined ? "" : ` ${percent(c)}`}`,
      ocrTitle: "This variant was read from a scan by OCR: its wording may hold recognition errors",
      supportOcr: (n) => `${n} read by OCR`,
      supportLow: (n) => `${n} with low-confidence OCR: weaker witness${n === 1 ? "" : "es"}`,
      pageCaption: (n, label) => `Page ${n}${label ? ` (printed ${label})` : ""}`,
      pageOcr: (c) => `OCR ${percent(c)}`,
      pageLoading: (n) => `Loading page ${n}…`,
      pageAlt: (n, f, k) => `Page ${n} of ${f}, the passage's ${k === 1 ? "line" : `${k} lines`} highlighted`,
      highlight: (i, k, top) => `Passage line ${i} of ${k}, ${top}% down the page`,
      openOriginal: (n) => `Open the original at page ${n}`,
      download: (f) => `Download ${f}`,
      pageError: (n, m) => `Page ${n} could not be shown: ${m}`,
      scopeTo: "Ask only this document",
      scopeToLabel: (d) => `Ask the next questions only of ${d}`,
      scoped: "Asking only:",
      unscope: "Ask all documents",
      turnScope: (d) => `only in ${d}`,
    },
    zh: {
      title: "文件问答",
      switchTo: "English",
      switchLabel: "界面切换为英文",
      clear: "清空",
      clearLabel: "清空对话",
      placeholder: "用中文或英文提问……",
      inputLabel: "你的问题",
      send: "发送",
      hint: "Enter 发送，Shift+Enter 换行。",
      empty: "就文件内容提问，例如“楚怡优秀技工院校要遴选建设多少所？”。每个回答都列出出处段落，以及有多少个转录版本包含它。",
      searching: "正在检索文件……",
      noResults: "没有段落能回答这个问题。",
      unanswered: "文件中似乎没有这个问题的答案。下面是最接近的段落，引用前请核实。",
      answer: "答案",
      agree: (n, t) => `${t} 个版本中 ${n} 个一致`,
      partial: (n, t) => `${t} 个版本中 ${n} 个包含`,
      otherwise: (v, s) => `${v} 作 ${s}`,
      sources: "出处",
      support: (n, t) => `${n}/${t} 个版本`,
      single: "仅 1 个版本有此条款，请谨慎对待",
      low: (n, t) => `${t} 个版本中仅 ${n} 个有此条款`,
      loop: (n) => `已合并 ×${n} 处重复`,
      divergent: "各版本措辞不同",
      minor: "仅标点不同",
      showReadings: (n) => (n === 1 ? "查看唯一版本的原文" : `对照 ${n} 个版本的原文`),
      canonical: "规范文本",
      line: (a, b) => (a === b ? `第 ${a} 行` : `第 ${a}–${b} 行`),
      open: "在文件中查看",
      hide: "收起文件原文",
      copy: "复制引文",
      copied: "引文已复制",
      copyFailed: "无法复制，请手动选择文本",
      differences: "版本差异",
      missing: (s) => `此处缺：${s}`,
      minorTag: "仅标点",
      errors: {
        network: "无法连接服务（或本网站无权调用）。请确认服务正在运行后重试。",
        401: "此服务需要访问密钥。",
        403: "此密钥不能在这里使用。",
        429: (s) => `提问过于频繁，请 ${s} 秒后再试。`,
        503: "服务仍在加载索引，请稍后再试。",
        500: "服务回答时出错。请重试；如仍失败，请把请求编号交给管理员。",
        emptyQuestion: "请先输入问题。",
        other: "服务拒绝了这个问题：",
        scopeGone: (d) => `${d} 已不在文件库中（可能已被删除）。`,
        scopeGoneFixed: (d) => `${d} 已不在文件库中；本页只在该文件中查找。`,
      },
      keyLabel: "访问密钥",
      keySave: "使用密钥",
      retry: "重试",
      requestId: "请求编号",
      fileText: (f, a, b) => `${f}，${a === b ? `第 ${a} 行` : `第 ${a}–${b} 行`}`,
      pages: (a, b) => (a === b ? `第 ${a} 页` : `第 ${a}–${b} 页`),
      hidePage: "收起页面",
      ocrTag: (c) => (c === null || c === undefined ? "OCR" : `OCR ${percent(c)}`),
      lowOcrTag: (c) => `OCR 置信度低${c === null || c === undefined ? "" : ` ${percent(c)}`}`,
      ocrTitle: "此版本由扫描件经 OCR 识别而来，文字可能有识别错误",
      supportOcr: (n) => `${n} 个版本经 OCR 识别`,
      supportLow: (n) => `${n} 个版本 OCR 置信度低，证据较弱`,
      pageCaption: (n, label) => `第 ${n} 页${label ? `（页码 ${label}）` : ""}`,
      pageOcr: (c) => `OCR ${percent(c)}`,
      pageLoading: (n) => `正在加载第 ${n} 页……`,
      pageAlt: (n, f, k) => `${f} 第 ${n} 页，已高亮该段落的 ${k} 行`,
      highlight: (i, k, top) => `段落第 ${i}/${k} 行，位于页面自上 ${top}% 处`,
      openOriginal: (n) => `在原文件中打开第 ${n} 页`,
      download: (f) => `下载 ${f}`,
      pageError: (n, m) => `第 ${n} 页无法显示：${m}`,
      scopeTo: "只问这份文件",
      scopeToLabel: (d) => `接下来的问题只在 ${d} 中查找`,
      scoped: "只在以下文件中查找：",
      unscope: "查找全部文件",
      turnScope: (d) => `仅限 ${d}`,
    },
  };

  /** Scroll the file text shown in `box` so its marked span sits in the upper third. */
  function scrollToMark(box) {
    const pre = box.querySelector("pre");
    const mark = box.querySelector("mark");
    if (pre && mark) pre.scrollTop = mark.offsetTop - pre.clientHeight / 3;
  }

  /** The pages a reading lies on (a PDF, a scan), each with its lines' rectangles; none for plain text. */
  function pagesOf(reading) {
    return Array.isArray(reading.pages) ? reading.pages.filter((span) => span && span.page) : [];
  }

  /** The file a reading came from as it arrived (notice.pdf), else the stored text file's name. */
  function fileName(reading) {
    return (reading.source && reading.source.original_name) || reading.file || reading.variant;
  }

  /** The file name a Content-Disposition header gives (filename*=UTF-8''…, or filename="…"); "" without one. */
  function fileNameOf(disposition) {
    const encoded = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(disposition || "");
    if (encoded) {
      try {
        return decodeURIComponent(encoded[1].trim());
      } catch {
        // a malformed name: try the plain one
      }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition || "");
    return plain ? plain[1].trim() : "";
  }

  function percent(fraction) {
    return `${Math.round(fraction * 100)}%`;
  }

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function shortVariant(id) {
    // Seed-style names (000_970efa45bf395699) read better by their prefix.
    const match = /^(.{1,12}?)_[0-9a-f]{8,}$/.exec(id);
    return match ? match[1] : id;
  }

  function browserLanguage() {
    const first = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return /^zh\b/i.test(first) ? "zh" : "en";
  }

  /** Split text into plain and marked pieces from [start, end, className, title, missing] spans. */
  function marked(text, spans) {
    const sorted = spans.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const out = [];
    let at = 0;
    for (const [start, end, cls, title, missing] of sorted) {
      if (start < at) continue; // overlapping spans: the first one wins
      if (start > at) out.push(text.slice(at, start));
      if (end === start) {
        out.push(h("span", { class: `gap ${cls}`, "data-missing": missing || "", title, role: "img", "aria-label": title }));
      } else {
        out.push(h("mark", { class: cls, title }, text.slice(start, end)));
      }
      at = end;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  }

  class ConcordChat extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this.turns = [];
      this.busy = false;
      this.objectUrls = new Set(); // page images and originals fetched as blobs, revoked once not shown
      this.scope = []; // the documents questions are asked of, [{id, title}]; none: all of them
    }

    get api() {
      const given = this.getAttribute("api");
      return given ? (given.endsWith("/") ? given : `${given}/`) : DEFAULT_API;
    }

    get storageKey() {
      return `concord-chat:${this.api}`;
    }

    get key() {
      return this.getAttribute("api-key") || sessionStorage.getItem(`${this.storageKey}:key`) || "";
    }

    get t() {
      return TEXT[this.language] || TEXT.en;
    }

    /** The document ids the host page fixed with the `documents` attribute (the reader cannot widen them). */
    get fixedScope() {
      return (this.getAttribute("documents") || "").split(",").map((id) => id.trim()).filter(Boolean);
    }

    connectedCallback() {
      this.language = this.getAttribute("lang") || sessionStorage.getItem("concord-chat:lang") || browserLanguage();
      try {
        this.turns = JSON.parse(sessionStorage.getItem(this.storageKey) || "[]");
      } catch {
        this.turns = [];
      }
      const fixed = this.fixedScope;
      if (fixed.length) {
        this.scope = fixed.map((id) => ({ id, title: "" }));
      } else {
        try {
          const kept = JSON.parse(sessionStorage.getItem(`${this.storageKey}:scope`) || "[]");
          this.scope = Array.isArray(kept) ? kept.filter((d) => d && typeof d.id === "string") : [];
        } catch {
          this.scope = [];
        }
      }
      this.render();
    }

    disconnectedCallback() {
      this.releaseUrls();
    }

    /** Revoke the object URLs of page images and originals (all of them, or those in `urls`). */
    releaseUrls(urls) {
      for (const url of urls || this.objectUrls) {
        URL.revokeObjectURL(url);
        this.objectUrls.delete(url);
      }
      if (urls) urls.clear();
    }

    save() {
      const kept = this.turns.filter((turn) => !turn.pending).slice(-MAX_TURNS);
      try {
        sessionStorage.setItem(this.storageKey, JSON.stringify(kept));
      } catch {
        // Storage full or refused (private mode): the conversation still works, it just will not survive a reload.
      }
    }

    render() {
      const t = this.t;
      const root = this.shadowRoot;
      root.replaceChildren();
      root.append(h("link", { rel: "stylesheet", href: `${STATIC_BASE}widget.css` }));
      this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.sources, tabindex: "-1" });
      this.status = h("div", { class: "status", role: "status", "aria-live": "assertive" });
      this.scopeBar = h("div", { class: "scope-bar" });
      this.input = h("textarea", {
        id: "question",
        rows: "2",
        placeholder: t.placeholder,
        "aria-describedby": "hint",
        maxlength: "2000",
        onkeydown: (event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            this.ask();
          }
        },
      });
      const form = h(
        "form",
        {
          class: "ask",
          onsubmit: (event) => {
            event.preventDefault();
            this.ask();
          },
        },
        h("label", { for: "question", class: "visually-hidden" }, t.inputLabel),
        this.input,
        h("button", { type: "submit", class: "send" }, t.send),
        h("p", { id: "hint", class: "hint" }, t.hint),
      );
      const header = h(
        "header",
        { class: "bar" },
        h("h2", {}, t.title),
        h(
          "div",
          { class: "controls" },
          h("button", { type: "button", class: "lang", lang: this.language === "zh" ? "en" : "zh", "aria-label": t.switchLabel, onclick: () => this.switchLanguage() }, t.switchTo),
          h("button", { type: "button", class: "clear", "aria-label": t.clearLabel, onclick: () => this.clear() }, t.clear),
        ),
      );
      root.append(h("div", { class: "chat", lang: this.language === "zh" ? "zh-CN" : "en", part: "chat" }, header, this.log, this.status, this.scopeBar, form));
      this.renderScope();
      this.renderLog();
    }

    /** A document's name for people: its title once an answer has shown it, else its id. */
    scopeNames(scope) {
      return scope.map((d) => d.title || d.id).join(this.language === "zh" ? "、" : ", ");
    }

    /** The bar above the question box that says which documents the next question goes to. */
    renderScope() {
      this.scopeBar.replaceChildren();
      if (!this.scope.length) return;
      this.scopeBar.append(h("span", { class: "scope-label" }, this.t.scoped, " "), h("strong", { class: "scope-names" }, this.scopeNames(this.scope)));
      if (!this.fixedScope.length) {
        this.scopeBar.append(" ", h("button", { type: "button", class: "unscope", onclick: () => this.setScope([]) }, this.t.unscope));
      }
    }

    /** Ask the next questions only of these documents ([] for all of them); kept for the session. */
    setScope(scope) {
      this.scope = scope;
      try {
        sessionStorage.setItem(`${this.storageKey}:scope`, JSON.stringify(scope));
      } catch {
        // Storage refused: the scope still holds until a reload.
      }
      this.renderScope();
      this.renderLog();
      this.input.focus();
    }

    renderLog() {
      this.releaseUrls(); // every open page view is rebuilt closed
      this.log.replaceChildren();
      if (!this.turns.length) {
        this.log.append(h("p", { class: "empty" }, this.t.empty));
        return;
      }
      for (const turn of this.turns) this.log.append(this.renderTurn(turn));
    }

    switchLanguage() {
      this.language = this.language === "zh" ? "en" : "zh";
      sessionStorage.setItem("concord-chat:lang", this.language);
      const draft = this.input.value;
      this.render();
      this.input.value = draft;
      this.shadowRoot.querySelector("button.lang").focus();
    }

    clear() {
      this.turns = [];
      this.save();
      this.status.textContent = "";
      this.renderLog();
      this.input.focus();
    }

    showStatus(message, extra) {
      this.status.replaceChildren(h("p", { class: "error" }, message), extra || "");
    }

    async ask(questionText) {
      const question = (questionText ?? this.input.value).trim();
      if (this.busy) return;
      if (!question) {
        this.showStatus(this.t.errors.emptyQuestion);
        this.input.focus();
        return;
      }
      this.status.textContent = "";
      const turn = { question, pending: true, scope: this.scope.slice() };
      this.turns.push(turn);
      this.busy = true;
      this.renderLog();
      this.scrollLog("end");
      try {
        const topK = Number(this.getAttribute("top-k")) || 5;
        const { status, body, headers } = await this.call("v1/query", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(turn.scope.length ? { question, top_k: topK, documents: turn.scope.map((d) => d.id) } : { question, top_k: topK }),
        });
        if (status === 200) {
          turn.response = body;
          this.learnTitles(body.results || []);
          if (this.input.value.trim() === question) this.input.value = "";
        } else {
          turn.error = this.errorOf(status, body, headers);
        }
      } catch {
        turn.error = { kind: "network" };
      }
      delete turn.pending;
      this.busy = false;
      if (turn.error) {
        // A refused question leaves no turn behind: the message says what to fix, the text stays in the box.
        this.turns.pop();
        this.showError(turn.error, question);
      }
      this.save();
      this.renderLog();
      // The new turn from its question down: the answer and the first sources, not the last passage.
      this.scrollLog("start");
    }

    /** Put the titles answers show on the scoped documents named only by id (from the attribute). */
    learnTitles(results) {
      let learned = false;
      for (const d of this.scope) {
        const seen = results.find((group) => group.document.id === d.id);
        if (!d.title && seen && seen.document.title) {
          d.title = seen.document.title;
          learned = true;
        }
      }
      if (learned) this.renderScope();
    }

    /** Scroll the log (never the host page) to the start or end of the latest turn. */
    scrollLog(edge) {
      const turn = this.log.lastElementChild;
      if (!turn) return;
      const top = turn.offsetTop; // .log is positioned, so this is relative to it
      this.log.scrollTop = edge === "start" ? top : top + turn.offsetHeight - this.log.clientHeight;
    }

    async call(path, init) {
      const headers = { ...(init.headers || {}) };
      if (this.key) headers.Authorization = `Bearer ${this.key}`;
      const response = await fetch(new URL(path, this.api), { ...init, headers });
      return this.answerOf(response);
    }

    /** GET a file (a page image, an original) with the key, as an object URL: an <img src> or a link cannot send the key. */
    async fetchFile(path, urls) {
      const headers = this.key ? { Authorization: `Bearer ${this.key}` } : {};
      const response = await fetch(new URL(path, this.api), { headers });
      if (!response.ok) return this.answerOf(response);
      const url = URL.createObjectURL(await response.blob());
      this.objectUrls.add(url);
      urls.add(url);
      return { status: response.status, url, name: fileNameOf(response.headers.get("Content-Disposition")) };
    }

    async answerOf(response) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      return { status: response.status, body, headers: response.headers };
    }

    errorOf(status, body, headers) {
      const error = (body && body.error) || {};
      return {
        kind: String(status),
        status,
        message: error.message || (body && body.detail) || "",
        code: error.code || "",
        requestId: error.request_id || (headers && headers.get("X-Request-ID")) || "",
        retryAfter: headers && headers.get("Retry-After"),
      };
    }

    showError(error, question) {
      const e = this.t.errors;
      const retry = h("button", { type: "button", class: "retry", onclick: () => this.ask(question) }, this.t.retry);
      const id = error.requestId ? h("span", { class: "request-id" }, ` (${this.t.requestId} ${error.requestId})`) : "";
      if (error.kind === "network") return this.showStatus(e.network, retry);
      if (error.status === 401) {
        const keyInput = h("input", { type: "password", id: "key", autocomplete: "off" });
        const keyForm = h(
          "form",
          {
            class: "key",
            onsubmit: (event) => {
              event.preventDefault();
              sessionStorage.setItem(`${this.storageKey}:key`, keyInput.value.trim());
              this.status.textContent = "";
              this.ask(question);
            },
          },
          h("label", { for: "key" }, this.t.keyLabel),
          keyInput,
          h("button", { type: "submit" }, this.t.keySave),
        );
        this.showStatus(e[401], keyForm);
        keyInput.focus();
        return;
      }
      if (error.status === 403) return this.showStatus(`${e[403]} ${error.message}`);
      if (error.code === "unknown_document" && this.scope.length) {
        // The document the conversation was narrowed to was removed since: say so in words, and
        // offer to ask the same question of every document (unless the host page fixed the scope).
        const gone = this.scopeNames(this.scope);
        if (this.fixedScope.length) return this.showStatus(e.scopeGoneFixed(gone));
        const widen = h("button", {
          type: "button",
          class: "unscope",
          onclick: () => {
            this.setScope([]);
            this.ask(question);
          },
        }, this.t.unscope);
        return this.showStatus(e.scopeGone(gone), widen);
      }
      if (error.status === 429) return this.showStatus(e[429](error.retryAfter || "?"), retry);
      if (error.status === 503) return this.showStatus(e[503], retry);
      if (error.status >= 500) return this.showStatus(e[500], h("span", {}, id, " ", retry));
      return this.showStatus(`${e.other} ${error.message}`, id);
    }

    renderTurn(turn) {
      const t = this.t;
      const article = h("article", { class: "turn" }, h("p", { class: "question" }, turn.question));
      if (turn.scope && turn.scope.length) article.append(h("p", { class: "turn-scope" }, t.turnScope(this.scopeNames(turn.scope))));
      if (turn.pending) {
        article.append(h("p", { class: "loading", "aria-busy": "true" }, h("span", { class: "spinner", "aria-hidden": "true" }), t.searching));
        return article;
      }
      const response = turn.response;
      if (!response) return article;
      if (response.answerable === false) {
        article.append(h("p", { class: "unanswered", role: "note" }, t.unanswered));
      } else if (response.answer) {
        article.append(this.renderAnswer(response.answer));
      }
      if (!response.results.length) {
        article.append(h("p", { class: "empty" }, t.noResults));
        return article;
      }
      const narrow = this.canNarrow(response.results);
      article.append(
        h("h3", { class: "sources-title" }, t.sources),
        h("ol", { class: "passages" }, response.results.map((group) => this.renderPassage(group, narrow))),
      );
      return article;
    }

    renderAnswer(answer) {
      const t = this.t;
      const agreement = answer.agreed
        ? t.agree(answer.count, answer.total)
        : [t.partial(answer.count, answer.total), ...answer.disagreements.map((d) => t.otherwise(shortVariant(d.variant), d.text))].join("; ");
      return h(
        "div",
        { class: `answer ${answer.agreed ? "agreed" : "disputed"}` },
        h("span", { class: "answer-label" }, `${t.answer}: `),
        h("strong", { class: "answer-span" }, answer.text),
        " ",
        h("span", { class: "agreement" }, agreement),
      );
    }

    /** Whether passages offer "ask only this document": their documents differ and the page fixed no scope. */
    canNarrow(results) {
      return !this.fixedScope.length && new Set(results.map((group) => group.document.id)).size > 1;
    }

    renderPassage(group, narrow) {
      const t = this.t;
      const support = group.support;
      const flags = new Set(group.flags);
      const badges = [h("span", { class: `badge support ${support.count === support.total ? "full" : "partial"}` }, t.support(support.count, support.total))];
      if (flags.has("single_variant")) badges.push(h("span", { class: "badge warn single" }, "⚠ ", t.single));
      else if (flags.has("low_support")) badges.push(h("span", { class: "badge warn low" }, t.low(support.count, support.total)));
      for (const copies of Object.values(group.repetition || {})) badges.push(h("span", { class: "badge loop" }, t.loop(copies)));
      const lowOcr = (support.low_confidence || []).length;
      const ocr = (support.ocr || []).length;
      if (lowOcr) badges.push(h("span", { class: "badge ocr low", title: t.ocrTitle }, t.supportLow(lowOcr)));
      else if (ocr) badges.push(h("span", { class: "badge ocr", title: t.ocrTitle }, t.supportOcr(ocr)));
      if (flags.has("divergent")) badges.push(h("span", { class: "badge divergent" }, t.divergent));
      else if (flags.has("punctuation_only")) badges.push(h("span", { class: "badge minor" }, t.minor));

      const substantive = group.divergences.filter((d) => d.substantive);
      const canonicalSpans = substantive.map((d) => [d.canonical_start, d.canonical_end, "diff", `${shortVariant(d.variant)}: ${d.reading_text || "—"}`, d.canonical_text]);
      const name = group.document.title || group.document.id;
      const only = this.scope.length === 1 && this.scope[0].id === group.document.id;
      const scopeButton = narrow && !only
        ? h("button", { type: "button", class: "scope", "aria-label": t.scopeToLabel(name), onclick: () => this.setScope([{ id: group.document.id, title: group.document.title || "" }]) }, t.scopeTo)
        : "";
      const meta = h("p", { class: "meta" }, h("span", { class: "doc-title" }, name), group.section_path.length ? [" › ", h("span", { class: "section" }, group.section_path.join(" › "))] : "", scopeButton ? [" ", scopeButton] : "");
      const details = h(
        "details",
        { class: "readings" },
        h("summary", {}, t.showReadings(group.readings.length)),
        h("div", { class: "reading-grid" }, group.readings.map((reading) => this.renderReading(group, reading))),
        group.divergences.length ? this.renderDivergences(group) : "",
      );
      return h(
        "li",
        { class: "passage", "data-group": group.id },
        meta,
        h("p", { class: "canonical", lang: "zh-CN" }, marked(group.text, canonicalSpans)),
        h("div", { class: "badges" }, badges),
        details,
      );
    }

    renderReading(group, reading) {
      const t = this.t;
      const own = group.divergences.filter((d) => d.variant === reading.variant);
      const spans = own.map((d) => [d.reading_start, d.reading_end, d.substantive ? "diff" : "diff minor", d.kind === "delete" ? t.missing(d.canonical_text) : `${t.canonical}: ${d.canonical_text || "—"}`, d.canonical_text]);
      const box = h("div", { class: "source", hidden: true });
      const openButton = h("button", { type: "button", class: "open", "aria-expanded": "false" }, t.open);
      openButton.addEventListener("click", () => this.toggleSource(group, reading, box, openButton));
      const copyButton = h("button", { type: "button", class: "copy", onclick: () => this.copyCitation(group, reading) }, t.copy);
      const copies = reading.copies > 1 ? h("span", { class: "badge loop" }, t.loop(reading.copies)) : "";
      const pages = pagesOf(reading);
      const where = pages.length
        ? h("span", { class: "pages" }, t.pages(pages[0].page, pages[pages.length - 1].page))
        : h("span", { class: "lines" }, t.line(reading.line_start, reading.line_end));
      const source = reading.source || {};
      const ocrTag = source.low_confidence
        ? h("span", { class: "badge ocr low", title: t.ocrTitle }, "⚠ ", t.lowOcrTag(source.confidence))
        : source.ocr
          ? h("span", { class: "badge ocr", title: t.ocrTitle }, t.ocrTag(source.confidence))
          : "";
      return h(
        "section",
        { class: "reading", "data-variant": reading.variant },
        h("header", {}, h("strong", { class: "variant" }, shortVariant(reading.variant)), " ", h("span", { class: "file" }, fileName(reading)), " · ", where, " ", ocrTag, " ", copies),
        h("p", { class: "reading-text", lang: "zh-CN" }, marked(reading.text, spans)),
        h("div", { class: "actions" }, openButton, copyButton),
        box,
      );
    }

    renderDivergences(group) {
      const t = this.t;
      const around = 4;
      const readings = Object.fromEntries(group.readings.map((r) => [r.variant, r]));
      return h(
        "div",
        { class: "divergences" },
        h("h4", {}, t.differences),
        h(
          "ul",
          {},
          group.divergences.map((d) => {
            const reading = readings[d.variant];
            const cs = Math.max(0, d.canonical_start - around);
            const rs = Math.max(0, d.reading_start - around);
            const canonicalPart = group.text.slice(cs, d.canonical_end + around);
            const readingPart = reading ? reading.text.slice(rs, d.reading_end + around) : d.reading_text;
            const cls = d.substantive ? "diff" : "diff minor";
            return h(
              "li",
              { class: `divergence ${d.substantive ? "substantive" : "minor"}`, "data-variant": d.variant },
              h("strong", {}, shortVariant(d.variant)),
              ": ",
              h("span", { class: "from", lang: "zh-CN" }, marked(canonicalPart, [[d.canonical_start - cs, d.canonical_end - cs, cls, t.canonical, ""]])),
              " → ",
              h("span", { class: "to", lang: "zh-CN" }, marked(readingPart, [[d.reading_start - rs, d.reading_end - rs, cls, d.kind === "delete" ? t.missing(d.canonical_text) : "", d.canonical_text]])),
              d.substantive ? "" : h("span", { class: "tag" }, ` (${t.minorTag})`),
            );
          }),
        ),
      );
    }

    async toggleSource(group, reading, box, button) {
      const t = this.t;
      // The page view needs page images (a PDF or scan); an OFD reading cites its pages but shows its text.
      const paged = pagesOf(reading).length > 0 && Boolean(reading.source && reading.source.page_images);
      if (!box.hidden) {
        box.hidden = true;
        box.loading = null; // a load still under way for this box is dropped
        if (box.urls) this.releaseUrls(box.urls);
        box.replaceChildren();
        button.textContent = t.open;
        button.setAttribute("aria-expanded", "false");
        return;
      }
      const load = {};
      box.loading = load;
      if (paged) {
        // The pages first (each image arrives when it arrives), then the file's text around the span below them.
        box.urls = box.urls || new Set();
        const excerpt = h("div", { class: "excerpt" });
        box.replaceChildren(...pagesOf(reading).map((span) => this.renderPage(group, reading, span, box, load)), excerpt);
        box.hidden = false;
        button.textContent = t.hidePage;
        button.setAttribute("aria-expanded", "true");
        this.loadOriginal(group, reading, box, load);
        const text = await this.fileText(group, reading);
        if (box.loading !== load) return;
        excerpt.replaceChildren(...text);
        scrollToMark(excerpt);
        return;
      }
      const text = await this.fileText(group, reading);
      if (box.loading !== load) return;
      box.replaceChildren(...text);
      box.hidden = false;
      button.textContent = t.hide;
      button.setAttribute("aria-expanded", "true");
      scrollToMark(box);
    }

    variantPath(group, reading) {
      return `v1/documents/${encodeURIComponent(group.document.id)}/variants/${encodeURIComponent(reading.variant)}`;
    }

    /** The stored text around the reading's span: its head line and the text with the span marked. */
    async fileText(group, reading) {
      const t = this.t;
      const path = `${this.variantPath(group, reading)}/text?start=${reading.char_start}&end=${reading.char_end}&context=160`;
      try {
        const { status, body, headers } = await this.call(path, {});
        if (status !== 200) {
          const error = this.errorOf(status, body, headers);
          return [h("p", { class: "error" }, error.message || `HTTP ${status}`)];
        }
        return [
          h("p", { class: "source-head" }, t.fileText(body.file, body.line_start, body.line_end)),
          h("pre", { lang: "zh-CN" }, body.before, h("mark", { class: "span" }, body.text), body.after),
        ];
      } catch {
        return [h("p", { class: "error" }, t.errors.network)];
      }
    }

    /** One page the reading touches: its caption, its image with every line of the passage boxed, a link to the original there. */
    renderPage(group, reading, span, box, load) {
      const t = this.t;
      const file = reading.file || reading.variant;
      const rects = (span.rects || []).filter((r) => Array.isArray(r) && r.length === 4);
      const caption = [t.pageCaption(span.page, span.label)];
      if (span.confidence !== null && span.confidence !== undefined) caption.push(t.pageOcr(span.confidence));
      const clamp = (v) => Math.min(100, Math.max(0, v * 100));
      const highlights = rects.map(([x0, y0, x1, y1], i) =>
        h("span", {
          class: "highlight",
          role: "img",
          "aria-label": t.highlight(i + 1, rects.length, Math.round(clamp(y0))),
          "data-rect": [x0, y0, x1, y1].join(","),
          style: `left:${clamp(x0)}%;top:${clamp(y0)}%;width:${clamp(x1) - clamp(x0)}%;height:${clamp(y1) - clamp(y0)}%`,
        }),
      );
      const image = h("img", { alt: t.pageAlt(span.page, file, rects.length), hidden: true });
      const status = h("p", { class: "page-status" }, t.pageLoading(span.page));
      const frame = h(
        "div",
        { class: "page-frame loading", tabindex: "0", role: "group", "aria-label": caption.join(" · ") },
        image,
        highlights,
      );
      const original = h("p", { class: "page-links" });
      const figure = h(
        "figure",
        { class: "page", "data-page": span.page },
        h("figcaption", { class: "page-head" }, caption.join(" · ")),
        status,
        frame,
        original,
      );
      this.loadPage(group, reading, span, { box, load, image, frame, status });
      return figure;
    }

    async loadPage(group, reading, span, { box, load, image, frame, status }) {
      const t = this.t;
      let message = "";
      try {
        const answer = await this.fetchFile(`${this.variantPath(group, reading)}/pages/${span.page}.png?width=1600`, box.urls);
        if (box.loading !== load) return; // hidden meanwhile: releaseUrls has revoked it
        if (answer.url) {
          image.addEventListener(
            "load",
            () => {
              image.hidden = false;
              frame.classList.remove("loading");
              status.remove();
              if (span === pagesOf(reading)[0]) this.scrollToHighlight(frame);
            },
            { once: true },
          );
          image.addEventListener("error", () => status.replaceChildren(t.pageError(span.page, "PNG")), { once: true });
          image.src = answer.url;
          return;
        }
        const error = this.errorOf(answer.status, answer.body, answer.headers);
        message = error.message || `HTTP ${answer.status}`;
      } catch {
        message = t.errors.network;
      }
      if (box.loading !== load) return;
      status.classList.add("error");
      status.textContent = t.pageError(span.page, message);
      frame.remove();
    }

    /** The original file (a PDF opens at the page with #page=N), fetched once for all the reading's pages. */
    async loadOriginal(group, reading, box, load) {
      const t = this.t;
      let answer;
      try {
        answer = await this.fetchFile(`${this.variantPath(group, reading)}/original`, box.urls);
      } catch {
        answer = { status: 0 };
      }
      if (box.loading !== load || !answer.url) return;
      // The name the file arrived with (readable from another origin only if the service exposes the header).
      const file = answer.name || reading.file || reading.variant;
      for (const links of box.querySelectorAll(".page-links")) {
        const figure = links.closest("figure");
        const page = figure.dataset.page;
        const image = figure.querySelector("img");
        if (image) image.alt = t.pageAlt(page, file, figure.querySelectorAll(".highlight").length);
        links.replaceChildren(
          h("a", { class: "original", href: `${answer.url}#page=${page}`, target: "_blank", rel: "noopener" }, t.openOriginal(page)),
          " · ",
          h("a", { class: "download", href: answer.url, download: file }, t.download(file)),
        );
      }
    }

    /** Scroll the log (never the host page) so the first highlighted line sits in its upper third. */
    scrollToHighlight(frame) {
      const first = frame.querySelector(".highlight");
      if (!first) return;
      const top = first.getBoundingClientRect().top - this.log.getBoundingClientRect().top + this.log.scrollTop;
      this.log.scrollTop = Math.max(0, top - this.log.clientHeight / 3);
    }

    citation(group, reading) {
      const lines = reading.line_start === reading.line_end ? `line ${reading.line_start}` : `lines ${reading.line_start}-${reading.line_end}`;
      const title = group.document.title ? `《${group.document.title}》 ` : "";
      const spans = pagesOf(reading);
      let where = lines;
      if (spans.length) {
        const [first, last] = [spans[0], spans[spans.length - 1]];
        const pages = first.page === last.page ? `p. ${first.page}` : `pp. ${first.page}–${last.page}`;
        const labels = spans.map((span) => span.label).filter(Boolean);
        const printed = labels.length && labels.join() !== spans.map((span) => String(span.page)).join() ? ` (printed ${labels[0] === labels[labels.length - 1] ? labels[0] : `${labels[0]}–${labels[labels.length - 1]}`})` : "";
        where = `${pages}${printed}, ${lines}`;
      }
      const ocr = reading.source && reading.source.ocr ? `, OCR${reading.source.confidence !== null && reading.source.confidence !== undefined ? ` ${percent(reading.source.confidence)}` : ""}` : "";
      return `${title}[${group.document.id}], variant ${reading.variant} (${fileName(reading)}), ${where}${ocr}: “${reading.raw_text.trim()}”`;
    }

    async copyCitation(group, reading) {
      const text = this.citation(group, reading);
      let copied = false;
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch {
        const area = h("textarea", { class: "visually-hidden" }, text);
        this.shadowRoot.append(area);
        area.select();
        copied = document.execCommand && document.execCommand("copy");
        area.remove();
      }
      this.lastCitation = text;
      this.status.replaceChildren(h("p", { class: copied ? "note" : "error" }, copied ? this.t.copied : this.t.copyFailed));
    }
  }

  if (!customElements.get("concord-chat")) customElements.define("concord-chat", ConcordChat);
})();
