/*
 * <concord-chat>: ask the documents, see the sources.
 *
 * One script tag adds it to any page:
 *   <script src="https://concord.example/-/static/widget.js"></script>
 *   <concord-chat api-key="pk_..."></concord-chat>
 *
 * Attributes: api (the service's base URL; default: where this script came from),
 * api-key (a widget or query key), lang (zh or en; default: the browser's), top-k.
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
      },
      keyLabel: "Access key",
      keySave: "Use key",
      retry: "Try again",
      requestId: "request id",
      fileText: (f, a, b) => `${f}, ${a === b ? `line ${a}` : `lines ${a}–${b}`}`,
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
      },
      keyLabel: "访问密钥",
      keySave: "使用密钥",
      retry: "重试",
      requestId: "请求编号",
      fileText: (f, a, b) => `${f}，${a === b ? `第 ${a} 行` : `第 ${a}–${b} 行`}`,
    },
  };

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

    connectedCallback() {
      this.language = this.getAttribute("lang") || sessionStorage.getItem("concord-chat:lang") || browserLanguage();
      try {
        this.turns = JSON.parse(sessionStorage.getItem(this.storageKey) || "[]");
      } catch {
        this.turns = [];
      }
      this.render();
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
      root.append(h("div", { class: "chat", lang: this.language === "zh" ? "zh-CN" : "en", part: "chat" }, header, this.log, this.status, form));
      this.renderLog();
    }

    renderLog() {
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
      const turn = { question, pending: true };
      this.turns.push(turn);
      this.busy = true;
      this.renderLog();
      this.scrollLog("end");
      try {
        const topK = Number(this.getAttribute("top-k")) || 5;
        const { status, body, headers } = await this.call("v1/query", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question, top_k: topK }),
        });
        if (status === 200) {
          turn.response = body;
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
      if (error.status === 429) return this.showStatus(e[429](error.retryAfter || "?"), retry);
      if (error.status === 503) return this.showStatus(e[503], retry);
      if (error.status >= 500) return this.showStatus(e[500], h("span", {}, id, " ", retry));
      return this.showStatus(`${e.other} ${error.message}`, id);
    }

    renderTurn(turn) {
      const t = this.t;
      const article = h("article", { class: "turn" }, h("p", { class: "question" }, turn.question));
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
      article.append(
        h("h3", { class: "sources-title" }, t.sources),
        h("ol", { class: "passages" }, response.results.map((group) => this.renderPassage(group))),
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

    renderPassage(group) {
      const t = this.t;
      const support = group.support;
      const flags = new Set(group.flags);
      const badges = [h("span", { class: `badge support ${support.count === support.total ? "full" : "partial"}` }, t.support(support.count, support.total))];
      if (flags.has("single_variant")) badges.push(h("span", { class: "badge warn single" }, "⚠ ", t.single));
      else if (flags.has("low_support")) badges.push(h("span", { class: "badge warn low" }, t.low(support.count, support.total)));
      for (const copies of Object.values(group.repetition || {})) badges.push(h("span", { class: "badge loop" }, t.loop(copies)));
      if (flags.has("divergent")) badges.push(h("span", { class: "badge divergent" }, t.divergent));
      else if (flags.has("punctuation_only")) badges.push(h("span", { class: "badge minor" }, t.minor));

      const substantive = group.divergences.filter((d) => d.substantive);
      const canonicalSpans = substantive.map((d) => [d.canonical_start, d.canonical_end, "diff", `${shortVariant(d.variant)}: ${d.reading_text || "—"}`, d.canonical_text]);
      const meta = h("p", { class: "meta" }, h("span", { class: "doc-title" }, group.document.title || group.document.id), group.section_path.length ? [" › ", h("span", { class: "section" }, group.section_path.join(" › "))] : "");
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
      const source = h("div", { class: "source", hidden: true });
      const openButton = h("button", { type: "button", class: "open", "aria-expanded": "false" }, t.open);
      openButton.addEventListener("click", () => this.toggleSource(group, reading, source, openButton));
      const copyButton = h("button", { type: "button", class: "copy", onclick: () => this.copyCitation(group, reading) }, t.copy);
      const copies = reading.copies > 1 ? h("span", { class: "badge loop" }, t.loop(reading.copies)) : "";
      return h(
        "section",
        { class: "reading", "data-variant": reading.variant },
        h("header", {}, h("strong", { class: "variant" }, shortVariant(reading.variant)), " ", h("span", { class: "file" }, reading.file || reading.variant), " · ", h("span", { class: "lines" }, t.line(reading.line_start, reading.line_end)), " ", copies),
        h("p", { class: "reading-text", lang: "zh-CN" }, marked(reading.text, spans)),
        h("div", { class: "actions" }, openButton, copyButton),
        source,
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
      if (!box.hidden) {
        box.hidden = true;
        button.textContent = t.open;
        button.setAttribute("aria-expanded", "false");
        return;
      }
      const path = `v1/documents/${encodeURIComponent(group.document.id)}/variants/${encodeURIComponent(reading.variant)}/text?start=${reading.char_start}&end=${reading.char_end}&context=160`;
      try {
        const { status, body, headers } = await this.call(path, {});
        if (status !== 200) {
          const error = this.errorOf(status, body, headers);
          box.replaceChildren(h("p", { class: "error" }, error.message || `HTTP ${status}`));
        } else {
          box.replaceChildren(
            h("p", { class: "source-head" }, t.fileText(body.file, body.line_start, body.line_end)),
            h("pre", { lang: "zh-CN" }, body.before, h("mark", { class: "span" }, body.text), body.after),
          );
        }
      } catch {
        box.replaceChildren(h("p", { class: "error" }, t.errors.network));
      }
      box.hidden = false;
      button.textContent = t.hide;
      button.setAttribute("aria-expanded", "true");
      const pre = box.querySelector("pre");
      const mark = box.querySelector("mark");
      if (pre && mark) pre.scrollTop = mark.offsetTop - pre.clientHeight / 3;
    }

    citation(group, reading) {
      const lines = reading.line_start === reading.line_end ? `line ${reading.line_start}` : `lines ${reading.line_start}-${reading.line_end}`;
      const title = group.document.title ? `《${group.document.title}》 ` : "";
      return `${title}[${group.document.id}], variant ${reading.variant} (${reading.file || reading.variant}), ${lines}: “${reading.raw_text.trim()}”`;
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
